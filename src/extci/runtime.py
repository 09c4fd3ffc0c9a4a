"""What one server process holds: settings, the engine and its session factory."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from extci.config import Settings
from extci.db import make_engine, make_session_factory
from extci.ingest.events import Limits
from extci.ingest.ratelimit import RateLimiter, rate_limiter_for


def engine_for(settings: Settings) -> Engine:
    busy_ms = int(settings.sqlite_busy_timeout.total_seconds() * 1000)
    return make_engine(settings.resolved_database_url, sqlite_busy_timeout_ms=busy_ms)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    limits: Limits
    rate_limiter: RateLimiter

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        engine = engine_for(settings)
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_session_factory(engine),
            limits=Limits(
                max_id_length=settings.max_id_length,
                max_version_length=settings.max_version_length,
                max_url_length=settings.max_url_length,
                max_string_length=settings.max_string_length,
                max_payload_items=settings.max_payload_items,
            ),
            rate_limiter=rate_limiter_for(engine.dialect.name, settings.rate_limit_per_minute),
        )
