"""What one server process holds: settings, the engine and its session factory, the
ingest path's process-wide parts (key cache, rate limiter, group-commit writer) and the
webhook outbox's (subscription cache, delivery worker)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from extci.config import Settings
from extci.db import make_engine, make_session_factory
from extci.ingest.events import Limits
from extci.ingest.ratelimit import RateLimiter, rate_limiter_for
from extci.ingest.service import Rules
from extci.ingest.writer import IngestWriter, ingest_writer
from extci.keys.cache import KeyCache, invalidate_on_commit
from extci.trust.oidc import OidcVerifier
from extci.trust.oidc import invalidate_on_commit as forget_policies_on_commit
from extci.webhooks import outbox as webhook_outbox
from extci.webhooks.outbox import Outbox, SubscriptionCache
from extci.webhooks.worker import DeliveryWorker, WorkerSettings


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
    writer: IngestWriter
    deliveries: DeliveryWorker
    key_cache: KeyCache = field(default_factory=KeyCache)
    oidc: OidcVerifier | None = None  # keyless CI authentication (trust policies)

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        engine = engine_for(settings)
        sessions = make_session_factory(engine)
        rules = Rules(
            inactivity_timeout=settings.build_inactivity_timeout,
            max_results_per_build=settings.max_results_per_build,
        )
        key_cache = KeyCache(settings.key_cache_seconds)
        invalidate_on_commit(sessions, key_cache)
        verifier = OidcVerifier(
            sessions,
            allow_http=settings.oidc_allow_http_issuers,
            policy_ttl=settings.key_cache_seconds,
        )
        forget_policies_on_commit(sessions, verifier)
        deliveries = delivery_worker(engine, settings)
        subscriptions = SubscriptionCache(settings.webhook_cache_seconds)
        webhook_outbox.invalidate_on_commit(sessions, subscriptions)
        outbox = Outbox(
            subscriptions,
            retry_for=settings.webhook_retry_for,
            first_delay=settings.webhook_first_delay,
            on_commit=deliveries.wake,
        )
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            limits=Limits(
                max_id_length=settings.max_id_length,
                max_version_length=settings.max_version_length,
                max_url_length=settings.max_url_length,
                max_string_length=settings.max_string_length,
                max_payload_items=settings.max_payload_items,
            ),
            rate_limiter=rate_limiter_for(engine, settings.rate_limit_per_minute),
            writer=ingest_writer(
                engine,
                rules,
                # SQLite has one writer at a time anyway; PostgreSQL overlaps the round
                # trips of several batches.
                threads=1 if engine.dialect.name == "sqlite" else settings.ingest_writers,
                queue_limit=settings.ingest_queue_limit,
                outbox=outbox,
            ),
            deliveries=deliveries,
            key_cache=key_cache,
            oidc=verifier,
        )

    def close(self) -> None:
        """Store what is queued, then let the connections go."""
        self.deliveries.close()
        self.writer.close()
        self.rate_limiter.close()
        self.engine.dispose()


def delivery_worker(engine: Engine, settings: Settings) -> DeliveryWorker:
    return DeliveryWorker(
        engine,
        WorkerSettings(
            server_secret=settings.secret,
            base_url=settings.base_url,
            allow_private=settings.webhook_allow_private,
            timeout=settings.webhook_timeout,
            backoff_min=settings.webhook_backoff_min,
            backoff_max=settings.webhook_backoff_max,
            poll_interval=settings.webhook_poll_interval,
            lease=settings.webhook_lease,
            senders=settings.webhook_senders,
        ),
    )
