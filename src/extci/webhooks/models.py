"""Subscriptions, the outbox of deliveries, and every attempt to send one."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from extci.builds.models import BigId
from extci.constraints import one_of
from extci.db import Base, UTCDateTime


class WebhookEvent(StrEnum):
    """What a subscription can ask for."""

    BUILD_STARTED = "build.started"
    BUILD_FINISHED = "build.finished"  # any end: the payload carries the status
    BUILD_DEPLOYABLE = "build.deployable"  # ended SUCCESSFUL with every required result


class Message(StrEnum):
    """What one outbox row sends: a subscribed event, or (CDEvents) one artifact's event."""

    BUILD_STARTED = "build.started"
    BUILD_FINISHED = "build.finished"
    BUILD_DEPLOYABLE = "build.deployable"
    ARTIFACT_PACKAGED = "artifact.packaged"
    ARTIFACT_PUBLISHED = "artifact.published"


class WebhookFormat(StrEnum):
    STANDARD = "standard"  # extci's JSON, Standard Webhooks headers
    CDEVENTS_BINARY = "cdevents-binary"  # CloudEvents 1.0 binary HTTP mode, CDEvents body
    CDEVENTS_STRUCTURED = "cdevents-structured"  # application/cloudevents+json


class DeliveryState(StrEnum):
    PENDING = "PENDING"  # waiting for its first or next attempt
    DELIVERED = "DELIVERED"  # a 2xx answer
    FAILED = "FAILED"  # retried for webhook_retry_for without a 2xx; redeliver by hand


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscriptions"
    __table_args__ = (CheckConstraint(one_of("format", WebhookFormat), name="format"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # NULL: installation-wide (an admin's), every component's builds.
    component_id: Mapped[str | None] = mapped_column(
        ForeignKey("components.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list[Any]] = mapped_column(JSON)
    format: Mapped[str] = mapped_column(String(32))
    # The signing secret is derived from the server's secret key and this random salt
    # (extci.webhooks.signing.secret_for): nothing that signs is stored.
    secret_salt: Mapped[str] = mapped_column(String(64))
    secret_hint: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(255))


class WebhookDelivery(Base):
    """The outbox: written in the transaction of the build change that causes it.

    No foreign key to the subscription: the ingest path inserts rows from a cached list of
    subscriptions, and a subscription deleted meanwhile must not fail a CI event; the
    worker drops a row whose subscription is gone, and deleting a subscription deletes its
    rows."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(one_of("state", DeliveryState), name="state"),
        CheckConstraint(one_of("message", Message), name="message"),
        # The worker's scan: due rows, oldest first.
        Index("ix_webhook_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
        # Order per build: is an older row of this subscription and build still pending?
        Index("ix_webhook_deliveries_subscription_id_build_id", "subscription_id", "build_id"),
        # The delivery log, newest first.
        Index("ix_webhook_deliveries_subscription_id_id", "subscription_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(Integer)
    build_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("builds.id", ondelete="CASCADE"), index=True
    )
    message: Mapped[str] = mapped_column(String(32))
    # For an artifact message: the build result (container, helm, package) it is about.
    result_id: Mapped[int | None] = mapped_column(BigId)
    # webhook-id: the same on every attempt and redelivery, so a receiver can deduplicate.
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    retry_until: Mapped[datetime] = mapped_column(UTCDateTime())
    # A worker owns a claimed row until then; a crashed worker's rows are taken after it.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(255))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery_id_id", "delivery_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    # Why no answer came (refused address, timeout, connection error), if none came.
    error: Mapped[str | None] = mapped_column(String(255))
    # The first KB of the answer's body, as text.
    response_excerpt: Mapped[str] = mapped_column(Text, default="")
