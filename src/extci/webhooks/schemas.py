from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from extci.schemas import UNICODE_TEXT, ApiModel
from extci.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookFormat,
    WebhookSubscription,
)

# What a schema can say of a target; the rest (a valid host and port, an address allowed
# by EXTCI_WEBHOOK_ALLOW_PRIVATE) the service checks.
Url = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2048, pattern=r"^https?://[^\s/?#]+[^\s#]*$"),
    UNICODE_TEXT,
]
Description = Annotated[str, StringConstraints(max_length=255), UNICODE_TEXT]


class SubscriptionCreate(ApiModel):
    url: Url
    events: list[WebhookEvent] = Field(min_length=1, max_length=len(WebhookEvent))
    format: WebhookFormat = WebhookFormat.STANDARD
    description: Description = ""


class SubscriptionOut(ApiModel):
    id: int
    component_id: str | None
    url: str
    events: list[str]
    format: str
    description: str
    secret_hint: str
    created_at: datetime
    created_by: str
    # Failures at a glance: deliveries given up on, and pending ones that failed before.
    failed_deliveries: int = 0
    retrying_deliveries: int = 0

    @classmethod
    def of(cls, s: WebhookSubscription, failing: tuple[int, int] = (0, 0)) -> SubscriptionOut:
        """``failing``: (failed, retrying) deliveries of the subscription."""
        out = cls.model_validate(s)
        out.failed_deliveries, out.retrying_deliveries = failing
        return out


class SubscriptionCreated(SubscriptionOut):
    secret: str  # whsec_…: shown this once


class AttemptOut(ApiModel):
    attempted_at: datetime
    ok: bool
    status_code: int | None
    latency_ms: int
    error: str | None
    response: str  # the first KB of the answer's body

    @classmethod
    def of(cls, a: WebhookAttempt) -> AttemptOut:
        return cls(
            attempted_at=a.attempted_at,
            ok=a.ok,
            status_code=a.status_code,
            latency_ms=a.latency_ms,
            error=a.error,
            response=a.response_excerpt,
        )


class DeliveryOut(ApiModel):
    id: int
    message_id: str
    event: str
    component_id: str
    pipeline_id: str
    build_version: str
    state: str
    attempt_count: int
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status: int | None
    last_error: str | None
    attempts: list[AttemptOut]  # newest first

    @classmethod
    def of(
        cls,
        d: WebhookDelivery,
        component_id: str,
        pipeline_id: str,
        version: str,
        attempts: list[WebhookAttempt],
    ) -> DeliveryOut:
        return cls(
            id=d.id,
            message_id=d.message_id,
            event=d.message,
            component_id=component_id,
            pipeline_id=pipeline_id,
            build_version=version,
            state=d.state,
            attempt_count=d.attempts,
            created_at=d.created_at,
            next_attempt_at=d.next_attempt_at if d.state == "PENDING" else None,
            delivered_at=d.delivered_at,
            last_status=d.last_status,
            last_error=d.last_error,
            attempts=[AttemptOut.of(a) for a in attempts],
        )
