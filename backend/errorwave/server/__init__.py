"""The web server: REST + websocket sessions over the engine (docs/server.md).

`app.create_app()` builds the FastAPI app, `app.serve()` runs it (`errorwave serve`).
"""
