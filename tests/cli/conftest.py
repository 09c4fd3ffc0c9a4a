"""The commands run in this process, beside the app of the ``api`` fixture."""

from __future__ import annotations

import pytest

from extci.config import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The app without its CI key cache: a command changes keys in the database as another
    process would, which a server sees only after ``key_cache_seconds`` (1 s; as real
    processes, the commands took longer than that)."""
    return settings.model_copy(update={"key_cache_seconds": 0.0})
