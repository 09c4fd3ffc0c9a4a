"""Webhook subscriptions: create (the secret shown once), list, delete; the delivery log
and redelivery. A component's subscriptions are an editor's; installation-wide ones
(every component's builds) an admin's."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from extci.accounts.models import User
from extci.accounts.roles import Role
from extci.accounts.service import require_role
from extci.audit.models import AuditAction
from extci.audit.service import Actor, record
from extci.clock import utcnow
from extci.components import service as components
from extci.errors import FieldError, NotFound, ValidationFailed
from extci.pagination import DEFAULT_LIMIT, Page, decode_id_cursor, encode_cursor, page_of
from extci.validation import storable_id
from extci.webhooks import repository, signing
from extci.webhooks.models import (
    DeliveryState,
    WebhookEvent,
    WebhookFormat,
    WebhookSubscription,
)
from extci.webhooks.schemas import DeliveryOut, SubscriptionOut
from extci.webhooks.transport import Refused, check_url, is_public


@dataclass(frozen=True)
class NewSubscription:
    subscription: WebhookSubscription
    secret: str  # shown once; derived again from the server's key when signing


def _invalid(pointer: str, detail: str) -> ValidationFailed:
    return ValidationFailed(
        "The webhook subscription is invalid.", errors=[FieldError(pointer, detail)]
    )


def check_target(url: str, *, allow_private: bool) -> str:
    """A URL a webhook may target. Host names are resolved (and checked) at every send; an
    address written in the URL, or ``localhost``, is refused here already."""
    url = url.strip()
    if len(url) > 2048:
        raise _invalid("/url", "must be at most 2048 characters")
    try:
        _, host, _, _ = check_url(url)
    except Refused as exc:
        raise _invalid("/url", str(exc)) from None
    if allow_private:
        return url
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        raise _invalid("/url", "loopback targets need EXTCI_WEBHOOK_ALLOW_PRIVATE=true")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return url
    if not is_public(host):
        raise _invalid(
            "/url",
            "a loopback, private or reserved address needs EXTCI_WEBHOOK_ALLOW_PRIVATE=true",
        )
    return url


def _events(events: list[str]) -> list[str]:
    known = {e.value for e in WebhookEvent}
    chosen = [e for e in dict.fromkeys(events)]
    if not chosen or any(e not in known for e in chosen):
        raise _invalid("/events", "choose one or more of: " + ", ".join(sorted(known)))
    return [e.value for e in WebhookEvent if e.value in chosen]


def _format(fmt: str) -> str:
    if fmt not in {f.value for f in WebhookFormat}:
        raise _invalid("/format", "must be one of: " + ", ".join(f.value for f in WebhookFormat))
    return fmt


def create(
    session: Session,
    server_secret: bytes,
    component_id: str | None,
    *,
    url: str,
    events: list[str],
    fmt: str,
    description: str,
    actor: Actor,
    allow_private: bool,
) -> NewSubscription:
    if component_id is not None:
        components.get(session, component_id)
    salt = signing.new_salt()
    secret = signing.secret_for(server_secret, salt)
    subscription = WebhookSubscription(
        component_id=component_id,
        url=check_target(url, allow_private=allow_private),
        events=_events(events),
        format=_format(fmt),
        description=description.strip()[:255],
        secret_salt=salt,
        secret_hint=signing.hint(secret),
        created_at=utcnow(),
        created_by=actor.name,
    )
    repository.add(session, subscription)
    _record(session, actor, AuditAction.WEBHOOK_CREATED, subscription)
    return NewSubscription(subscription, secret)


def _record(
    session: Session, actor: Actor, action: AuditAction, s: WebhookSubscription, **extra: str
) -> None:
    details = {"url": s.url, "events": ", ".join(s.events), "format": s.format, **extra}
    record(session, actor, action, f"webhook {s.id}", component_id=s.component_id, details=details)


def list_subscriptions(
    session: Session,
    component_id: str | None,
    *,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[SubscriptionOut]:
    """A component's subscriptions, or (None) the installation-wide ones."""
    if component_id is not None:
        components.get(session, component_id)
    rows = repository.for_component(
        session, component_id, after_id=decode_id_cursor(cursor), limit=limit + 1
    )
    page = page_of(rows, limit, lambda s: encode_cursor(s.id))
    failing = repository.failing(session, [s.id for s in page.items])
    items = [SubscriptionOut.of(s, failing.get(s.id, (0, 0))) for s in page.items]
    return Page(items, page.next_cursor)


def get(session: Session, user: User, subscription_id: int, *, write: bool) -> WebhookSubscription:
    """The subscription, if ``user`` may read it (or change it, with ``write``)."""
    found = repository.get(session, subscription_id) if storable_id(subscription_id) else None
    if found is None:
        raise NotFound(f"Webhook subscription {subscription_id} does not exist.")
    if found.component_id is None:
        require_role(user, Role.ADMIN)
    else:
        require_role(user, Role.EDITOR if write else Role.VIEWER)
    return found


def out(session: Session, subscription: WebhookSubscription) -> SubscriptionOut:
    failing = repository.failing(session, [subscription.id]).get(subscription.id, (0, 0))
    return SubscriptionOut.of(subscription, failing)


def delete(session: Session, subscription: WebhookSubscription, *, actor: Actor) -> None:
    _record(session, actor, AuditAction.WEBHOOK_DELETED, subscription)
    repository.remove(session, subscription)


def deliveries(
    session: Session,
    subscription: WebhookSubscription,
    *,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[DeliveryOut]:
    """The delivery log, newest first, each delivery with its attempts (newest first)."""
    rows = repository.deliveries(
        session, subscription.id, after_id=decode_id_cursor(cursor), limit=limit + 1
    )
    page = page_of(rows, limit, lambda row: encode_cursor(row[0].id))
    attempts = repository.attempts(session, [d.id for d, _ in page.items])
    items = [
        DeliveryOut.of(d, b.component_id, b.pipeline_id, b.build_version, attempts[d.id])
        for d, b in page.items
    ]
    return Page(items, page.next_cursor)


def redeliver(
    session: Session,
    subscription: WebhookSubscription,
    delivery_id: int,
    *,
    retry_for: timedelta,
    actor: Actor,
) -> None:
    """Send a delivery again, now, with the same webhook-id (a receiver that deduplicates
    by it sees the same message), and retry it for another ``retry_for`` if it fails."""
    delivery = (
        repository.delivery(session, subscription.id, delivery_id)
        if storable_id(delivery_id)
        else None
    )
    if delivery is None:
        raise NotFound(f"Delivery {delivery_id} of webhook {subscription.id} does not exist.")
    now = utcnow()
    if delivery.state != DeliveryState.PENDING:
        # Settled rows hold no lease; a pending row keeps its lease (a send in flight).
        delivery.state = DeliveryState.PENDING
        delivery.lease_until = None
    delivery.next_attempt_at = now
    delivery.retry_until = max(delivery.retry_until, now + retry_for)
    session.flush()
    _record(
        session,
        actor,
        AuditAction.WEBHOOK_REDELIVERED,
        subscription,
        message_id=delivery.message_id,
    )
