"""What one server process holds: settings, the engine and its session factory."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from extci.config import Settings
from extci.db import make_session_factory
from extci.ingest.events import Limits
from extci.ingest.ratelimit import RateLimiter


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    limits: Limits
    rate_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(100))

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        engine = settings.make_engine()
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
            rate_limiter=RateLimiter(settings.rate_limit_per_minute),
        )
