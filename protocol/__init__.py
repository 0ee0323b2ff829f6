"""The wire contract: method names, models of params/results/events, error codes."""
