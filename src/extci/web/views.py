"""The web UI (built in its own issue); mounts its routes on the application."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Nothing yet: the pages arrive with the web UI issue."""
