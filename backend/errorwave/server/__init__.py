"""The web server: REST + websocket sessions over the engine (DESIGN §2, §5, §9).

`app.create_app()` builds the FastAPI app, `app.serve()` runs it (`errorwave serve`).
"""
