"""DeputyDev in any LSP client: code actions, commands and how their answers are shown.

``actions`` lists what is offered at a selection (pure, instant); ``runner`` runs a chosen
command as a query with work-done progress and shows the answer; ``transcript`` writes a
session as the Markdown file that ``window/showDocument`` opens. The handlers that expose
them are in ``daemon.handlers.editor``.
"""
