"""The daemon's side of the workspace index: wiring ``indexer`` to settings and services."""
