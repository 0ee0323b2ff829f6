"""DeputyDev: a local AI code assistant daemon."""

__version__ = "0.1.0"
