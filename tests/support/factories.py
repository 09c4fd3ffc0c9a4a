"""Plain ``make_x(...)`` factories: set up state through the services, in one unit of work."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from extci.accounts import repository as accounts_repository
from extci.accounts import service as accounts
from extci.accounts.models import User
from extci.audit.service import Actor
from extci.clock import utcnow
from extci.components import service as components
from extci.db import unit_of_work
from extci.keys import service as keys
from extci.security import hash_password
from extci.webhooks import service as webhooks
from extci.webhooks.models import WebhookDelivery

PASSWORD = "correct horse battery"
TESTS = Actor("tests")  # who the audit log names for the set-up the factories do


@cache
def _password_hash() -> str:
    # argon2id is slow on purpose (~0.1-0.2 s); hash the shared test password once.
    return hash_password(PASSWORD)


def make_user(sessions: sessionmaker[Session], secret: bytes, username: str, role: str) -> str:
    """Create a user (password ``PASSWORD``) and return a personal access token for it."""
    with unit_of_work(sessions, write=True) as session:
        user = User(
            username=username, password_hash=_password_hash(), role=role, created_at=utcnow()
        )
        accounts_repository.add(session, user)
        return accounts.create_token(
            session, secret, user, name="test", expires_at=None, actor=TESTS
        ).secret


def make_component(
    sessions: sessionmaker[Session],
    component_id: str,
    kind: str = "application-component",
    *,
    external: bool = True,
) -> None:
    with unit_of_work(sessions, write=True) as session:
        components.create(session, component_id, None, kind)
        if external:
            components.set_ci_mode(session, component_id, "external", actor=TESTS)


def make_key(
    sessions: sessionmaker[Session],
    secret: bytes,
    component_id: str,
    *,
    name: str = "ci",
    expires_at: datetime | None = None,
) -> tuple[int, str]:
    """A CI key for an external component: (key id, secret)."""
    with unit_of_work(sessions, write=True) as session:
        new = keys.create(
            session,
            secret,
            component_id,
            name=name,
            expires_at=expires_at,
            actor=TESTS,
        )
        return new.key.id, new.secret


def make_webhook(
    sessions: sessionmaker[Session],
    secret: bytes,
    component_id: str | None,
    *,
    url: str = "https://hooks.example.org/extci",
    events: tuple[str, ...] = ("build.started", "build.finished", "build.deployable"),
    fmt: str = "standard",
) -> tuple[int, str]:
    """A webhook subscription (the URL is not checked against private ranges here; the
    sender still checks what it resolves to): (subscription id, signing secret)."""
    with unit_of_work(sessions, write=True) as session:
        new = webhooks.create(
            session,
            secret,
            component_id,
            url=url,
            events=list(events),
            fmt=fmt,
            description="",
            actor=TESTS,
            allow_private=True,
        )
        return new.subscription.id, new.secret


def webhook_deliveries(sessions: sessionmaker[Session], subscription_id: int) -> list[int]:
    """The ids of a subscription's deliveries, oldest first."""
    with unit_of_work(sessions) as session:
        stmt = (
            select(WebhookDelivery.id)
            .where(WebhookDelivery.subscription_id == subscription_id)
            .order_by(WebhookDelivery.id)
        )
        return list(session.execute(stmt).scalars())
