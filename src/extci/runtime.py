"""What one server process holds: settings, its clock, the engine and its session factory,
the ingest path's process-wide parts (key cache, rate limiter, group-commit writer), the
webhook outbox's (subscription cache, delivery worker), the live-update broadcaster and the
sign-in throttle.

The composition root: the one module below the app that wires infrastructure and domain
parts together (docs/architecture.md). The workers it holds are started and stopped by the
app's lifespan (:func:`extci.app.create_app`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from extci.accounts.throttle import SignInThrottle, sign_in_throttle_for
from extci.builds.service import Rules
from extci.clock import SYSTEM_CLOCK, Clock
from extci.config import Limits, Settings
from extci.db import make_engine, make_session_factory
from extci.ingest import repository as ingest_repository
from extci.ingest.service import unknown_identity
from extci.ingest.writer import IngestWriter, ingest_writer
from extci.keys.cache import KeyCache, invalidate_on_commit
from extci.notify import Broadcaster
from extci.ratelimit import DatabaseRateLimiter, MemoryRateLimiter, RateLimiter
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
    broadcaster: Broadcaster
    sign_in_throttle: SignInThrottle
    key_cache: KeyCache = field(default_factory=KeyCache)
    oidc: OidcVerifier | None = None  # keyless CI authentication (trust policies)
    clock: Clock = SYSTEM_CLOCK

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock = SYSTEM_CLOCK) -> Runtime:
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
            limits=Limits.of(settings),
            rate_limiter=rate_limiter_for(engine, settings.rate_limit_per_minute, clock),
            writer=ingest_writer(
                engine,
                rules,
                # SQLite has one writer at a time anyway; PostgreSQL overlaps the round
                # trips of several batches.
                threads=1 if engine.dialect.name == "sqlite" else settings.ingest_writers,
                queue_limit=settings.ingest_queue_limit,
                outbox=outbox,
                clock=clock,
            ),
            deliveries=deliveries,
            # Live updates of the pages; the webhook publishes to it after each commit.
            broadcaster=Broadcaster(settings.resolved_database_url),
            sign_in_throttle=sign_in_throttle_for(engine.dialect.name, sessions, settings),
            key_cache=key_cache,
            oidc=verifier,
            clock=clock,
        )

    def close(self) -> None:
        """Store what is queued, then let the connections go."""
        self.deliveries.close()
        self.writer.close()
        self.rate_limiter.close()
        self.engine.dispose()


def rate_limiter_for(engine: Engine, per_minute: int, clock: Clock = SYSTEM_CLOCK) -> RateLimiter:
    """SQLite is one process by design: the windows live in its memory. PostgreSQL may
    serve several processes: they share the CI keys' and trust policies' windows."""
    if engine.dialect.name == "postgresql":
        return DatabaseRateLimiter(
            per_minute, engine, ingest_repository.count_hits, unknown_identity, clock
        )
    return MemoryRateLimiter(per_minute, clock)


def delivery_worker(engine: Engine, settings: Settings) -> DeliveryWorker:
    return DeliveryWorker(
        engine,
        WorkerSettings(
            server_secret=settings.hmac_key,
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
