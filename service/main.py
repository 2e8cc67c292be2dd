"""Entry point for ASGI servers: ``uvicorn service.main:app``."""

from service.app import create_app

app = create_app()
