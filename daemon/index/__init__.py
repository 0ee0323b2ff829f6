"""The daemon's side of the workspace index: wiring ``indexer`` to settings and services.

``service.py`` holds :class:`IndexService` (one ``indexer.Index`` per root: roots, saves,
watcher, progress, events); ``embedders.py`` builds the embedding backend from settings.
"""
