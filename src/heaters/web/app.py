"""The FastAPI application factory. Routes are thin: they call the same services as the CLI."""

from __future__ import annotations

from fastapi import FastAPI

from heaters.adapters.db.connection import ping
from heaters.runtime import Runtime


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(title="Heaters", docs_url=None, redoc_url=None)
    app.state.runtime = runtime

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "database": ping(runtime.database)}

    return app
