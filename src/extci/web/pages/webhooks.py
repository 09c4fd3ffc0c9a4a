"""Webhook subscriptions: a component's (editors) and the installation's (admins); each
one's delivery log with a redelivery button. The secret is shown once, at creation."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated, Any

from fastapi import BackgroundTasks, Depends, Form
from fastapi.responses import Response
from fastapi.routing import APIRouter

from extci.accounts.roles import Role
from extci.components import service as components
from extci.dependencies import RuntimeDep, SessionDep
from extci.errors import ValidationFailed
from extci.schemas import Text
from extci.web.auth import FormVisitor
from extci.web.pages.common import Field, field_errors, see_other
from extci.web.pages.context import AdminFormPage, AdminPage, FormPage, Page, VisitorPage
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
    page: Page,
    component_id: str | None,
    *,
    extra: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    session, visitor = page.session, page.visitor
    component = components.get(session, component_id) if component_id else None
    listing = webhooks.list_subscriptions(session, component_id, limit=200)
    can_edit = visitor.is_admin if component_id is None else visitor.can_edit
    context = {
        "component": component,
        "subscriptions": listing.items,
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
        "notice": NOTICES.get(page.done),
        **(extra or {}),
    }
    return page.render("webhooks.html", context, status_code=status_code)


@dataclass(frozen=True)
class SubscriptionForm:
    """The new-subscription form's fields, as typed."""

    url: str
    events: list[str]
    format: str
    description: str


def _subscription_form(
    url: Field = "",
    events: Events = [],  # noqa: B006 - FastAPI copies defaults
    format: Field = "",
    description: Field = "",
) -> SubscriptionForm:
    return SubscriptionForm(url, events, format, description)


SubscriptionFormDep = Annotated[SubscriptionForm, Depends(_subscription_form)]


def _create(page: Page, component_id: str | None, form: SubscriptionForm) -> Response:
    settings = page.settings
    try:
        new = webhooks.create(
            page.session,
            settings.hmac_key,
            component_id,
            url=form.url,
            events=form.events,
            fmt=form.format or WebhookFormat.STANDARD,
            description=form.description,
            actor=page.visitor.actor,
            allow_private=settings.webhook_allow_private,
        )
    except ValidationFailed as exc:
        page.session.rollback()
        extra = {"errors": field_errors(exc), "values": asdict(form)}
        return _list_page(page, component_id, extra=extra, status_code=400)
    page.session.flush()
    # Shown once: this response is the only place the secret ever appears.
    extra = {"new_secret": {"secret": new.secret, "url": new.subscription.url}}
    return _list_page(page, component_id, extra=extra)


@router.get("/components/{component_id}/webhooks")
def component_webhooks(page: VisitorPage, component_id: str) -> Response:
    return _list_page(page, component_id)


@router.post("/components/{component_id}/webhooks")
def component_webhook_create(
    page: FormPage, component_id: str, form: SubscriptionFormDep
) -> Response:
    page.require(Role.EDITOR)
    return _create(page, component_id, form)


@router.get("/admin/webhooks")
def admin_webhooks(page: AdminPage) -> Response:
    return _list_page(page, None)


@router.post("/admin/webhooks")
def admin_webhook_create(page: AdminFormPage, form: SubscriptionFormDep) -> Response:
    return _create(page, None, form)


@router.get("/webhooks/{subscription_id}")
def webhook_log(page: VisitorPage, subscription_id: int) -> Response:
    session, visitor = page.session, page.visitor
    subscription = webhooks.get(session, visitor.user, subscription_id, write=False)
    deliveries = webhooks.deliveries(session, subscription, cursor=page.cursor, limit=50)
    can_edit = visitor.is_admin if subscription.component_id is None else visitor.can_edit
    return page.render(
        "webhook.html",
        {
            "subscription": webhooks.out(session, subscription),
            "home": _home(subscription, None),
            "deliveries": deliveries.items,
            "next_cursor": deliveries.next_cursor,
            "can_edit": can_edit,
            "notice": NOTICES.get(page.done),
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
def webhook_delete_confirm(page: VisitorPage, subscription_id: int) -> Response:
    subscription = webhooks.get(page.session, page.visitor.user, subscription_id, write=True)
    return page.render(
        "webhook_delete.html", {"subscription": subscription, "home": _home(subscription, None)}
    )


@router.post("/webhooks/{subscription_id}/delete")
def webhook_delete(session: SessionDep, visitor: FormVisitor, subscription_id: int) -> Response:
    subscription = webhooks.get(session, visitor.user, subscription_id, write=True)
    home = _home(subscription, None)
    webhooks.delete(session, subscription, actor=visitor.actor)
    return see_other(f"{home}?done=deleted")
