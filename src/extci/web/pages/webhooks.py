"""Webhook subscriptions: a component's (editors) and the installation's (admins); each
one's delivery log with a redelivery button. The secret is shown once, at creation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import BackgroundTasks, Form, Request
from fastapi.responses import Response
from fastapi.routing import APIRouter
from sqlalchemy.orm import Session

from extci.accounts import service as accounts
from extci.components import service as components
from extci.config import Settings
from extci.dependencies import RuntimeDep, SessionDep, SettingsDep
from extci.errors import ValidationFailed
from extci.schemas import Text
from extci.web import render as r
from extci.web.auth import AdminForm, AdminVisitor, FormVisitor, Visitor, VisitorDep
from extci.web.pages.common import Field, field_errors, see_other
from extci.webhooks import service as webhooks
from extci.webhooks.models import WebhookEvent, WebhookFormat, WebhookSubscription

router = APIRouter(include_in_schema=False)
Events = Annotated[list[Text], Form()]

NOTICES = {
    "deleted": "Webhook subscription deleted; its queued deliveries were dropped.",
    "redelivered": "Delivery queued to be sent again.",
}
EVENT_LABELS = {
    WebhookEvent.BUILD_STARTED: "Build started",
    WebhookEvent.BUILD_FINISHED: "Build finished (any status)",
    WebhookEvent.BUILD_DEPLOYABLE: "Build deployable (successful and complete)",
}
FORMAT_LABELS = {
    WebhookFormat.STANDARD: "extci JSON (Standard Webhooks)",
    WebhookFormat.CDEVENTS_BINARY: "CDEvents, CloudEvents binary mode",
    WebhookFormat.CDEVENTS_STRUCTURED: "CDEvents, CloudEvents structured mode",
}


def _home(subscription: WebhookSubscription | None, component_id: str | None) -> str:
    cid = subscription.component_id if subscription is not None else component_id
    return f"/components/{cid}/webhooks" if cid else "/admin/webhooks"


def _list_page(
    request: Request,
    session: Session,
    visitor: Visitor,
    component_id: str | None,
    *,
    extra: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    component = components.get(session, component_id) if component_id else None
    page = webhooks.list_subscriptions(session, component_id, limit=200)
    can_edit = visitor.is_admin if component_id is None else visitor.can_edit
    context = {
        "visitor": visitor,
        "component": component,
        "subscriptions": page.items,
        "can_edit": can_edit,
        "action": _home(None, component_id),
        "event_labels": EVENT_LABELS,
        "format_labels": FORMAT_LABELS,
        "values": {
            "url": "",
            "events": [WebhookEvent.BUILD_DEPLOYABLE.value],
            "format": "standard",
        },
        "errors": {},
        "notice": NOTICES.get(request.query_params.get("done", "")),
        **(extra or {}),
    }
    return r.render(request, "webhooks.html", context, status_code=status_code)


def _create(
    request: Request,
    session: Session,
    settings: Settings,
    visitor: Visitor,
    component_id: str | None,
    url: str,
    events: list[str],
    fmt: str,
    description: str,
) -> Response:
    try:
        new = webhooks.create(
            session,
            settings.hmac_key,
            component_id,
            url=url,
            events=events,
            fmt=fmt or WebhookFormat.STANDARD,
            description=description,
            actor=visitor.actor,
            allow_private=settings.webhook_allow_private,
        )
    except ValidationFailed as exc:
        session.rollback()
        errors = field_errors(exc)
        values = {"url": url, "events": events, "format": fmt, "description": description}
        extra = {"errors": errors, "values": values}
        return _list_page(request, session, visitor, component_id, extra=extra, status_code=400)
    session.flush()
    # Shown once: this response is the only place the secret ever appears.
    extra = {"new_secret": {"secret": new.secret, "url": new.subscription.url}}
    return _list_page(request, session, visitor, component_id, extra=extra)


@router.get("/components/{component_id}/webhooks")
def component_webhooks(
    request: Request, session: SessionDep, visitor: VisitorDep, component_id: str
) -> Response:
    return _list_page(request, session, visitor, component_id)


@router.post("/components/{component_id}/webhooks")
def component_webhook_create(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    visitor: FormVisitor,
    component_id: str,
    url: Field = "",
    events: Events = [],  # noqa: B006 - FastAPI copies defaults
    format: Field = "",
    description: Field = "",
) -> Response:
    accounts.require_role(visitor.user, "editor")
    return _create(
        request, session, settings, visitor, component_id, url, events, format, description
    )


@router.get("/admin/webhooks")
def admin_webhooks(request: Request, session: SessionDep, visitor: AdminVisitor) -> Response:
    return _list_page(request, session, visitor, None)


@router.post("/admin/webhooks")
def admin_webhook_create(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    visitor: AdminForm,
    url: Field = "",
    events: Events = [],  # noqa: B006 - FastAPI copies defaults
    format: Field = "",
    description: Field = "",
) -> Response:
    return _create(request, session, settings, visitor, None, url, events, format, description)


@router.get("/webhooks/{subscription_id}")
def webhook_log(
    request: Request, session: SessionDep, visitor: VisitorDep, subscription_id: int
) -> Response:
    subscription = webhooks.get(session, visitor.user, subscription_id, write=False)
    page = webhooks.deliveries(
        session, subscription, cursor=request.query_params.get("cursor") or None, limit=50
    )
    can_edit = visitor.is_admin if subscription.component_id is None else visitor.can_edit
    return r.render(
        request,
        "webhook.html",
        {
            "visitor": visitor,
            "subscription": webhooks.out(session, subscription),
            "home": _home(subscription, None),
            "deliveries": page.items,
            "next_cursor": page.next_cursor,
            "can_edit": can_edit,
            "notice": NOTICES.get(request.query_params.get("done", "")),
        },
    )


@router.post("/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver")
def webhook_redeliver(
    session: SessionDep,
    runtime: RuntimeDep,
    background: BackgroundTasks,
    visitor: FormVisitor,
    subscription_id: int,
    delivery_id: int,
) -> Response:
    subscription = webhooks.get(session, visitor.user, subscription_id, write=True)
    webhooks.redeliver(
        session,
        subscription,
        delivery_id,
        retry_for=runtime.settings.webhook_retry_for,
        actor=visitor.actor,
    )
    background.add_task(runtime.deliveries.wake)  # after the commit
    return see_other(f"/webhooks/{subscription_id}?done=redelivered#deliveries")


@router.get("/webhooks/{subscription_id}/delete")
def webhook_delete_confirm(
    request: Request, session: SessionDep, visitor: VisitorDep, subscription_id: int
) -> Response:
    subscription = webhooks.get(session, visitor.user, subscription_id, write=True)
    return r.render(
        request,
        "webhook_delete.html",
        {"visitor": visitor, "subscription": subscription, "home": _home(subscription, None)},
    )


@router.post("/webhooks/{subscription_id}/delete")
def webhook_delete(session: SessionDep, visitor: FormVisitor, subscription_id: int) -> Response:
    subscription = webhooks.get(session, visitor.user, subscription_id, write=True)
    home = _home(subscription, None)
    webhooks.delete(session, subscription, actor=visitor.actor)
    return see_other(f"{home}?done=deleted")
