"""The installer engine: API models, actions, jobs, store, SSH, recipes, lab, HTTP server."""

__version__ = "0.1.0"
