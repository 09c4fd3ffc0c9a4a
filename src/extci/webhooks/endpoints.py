from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Response

from extci.accounts.dependencies import ActorDep, Admin, Editor, Viewer
from extci.dependencies import RuntimeDep, SessionDep
from extci.schemas import PageOut, PagingQuery
from extci.webhooks import service
from extci.webhooks.schemas import (
    DeliveryOut,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionOut,
)

router = APIRouter(tags=["webhooks"])


class NewSubscription:
    """The subscription a request asks for (its body), once the route knows what for."""

    def __init__(
        self, session: SessionDep, runtime: RuntimeDep, body: SubscriptionCreate, actor: ActorDep
    ) -> None:
        self.session = session
        self.settings = runtime.settings
        self.body = body
        self.actor = actor

    def create(self, component_id: str | None) -> SubscriptionCreated:
        """Subscribe to ``component_id``'s builds, or (None) to every component's."""
        new = service.create(
            self.session,
            self.settings.hmac_key,
            component_id,
            url=self.body.url,
            events=[e.value for e in self.body.events],
            fmt=self.body.format.value,
            description=self.body.description,
            actor=self.actor,
            allow_private=self.settings.webhook_allow_private,
        )
        out = service.out(self.session, new.subscription)
        return SubscriptionCreated(**out.model_dump(), secret=new.secret)


# After the role: a caller who may not create is refused before the body is looked at.
NewSubscriptionDep = Annotated[NewSubscription, Depends()]


@router.post(
    "/components/{component_id}/webhooks", status_code=201, response_model=SubscriptionCreated
)
def create_component_webhook(
    component_id: str, _user: Editor, new: NewSubscriptionDep
) -> SubscriptionCreated:
    """Subscribe to a component's builds; the answer holds the signing secret, this once."""
    return new.create(component_id)


@router.get("/components/{component_id}/webhooks", response_model=PageOut[SubscriptionOut])
def list_component_webhooks(
    session: SessionDep, component_id: str, _user: Viewer, paging: PagingQuery
) -> PageOut[SubscriptionOut]:
    page = service.list_subscriptions(
        session, component_id, cursor=paging.cursor, limit=paging.limit
    )
    return PageOut(items=page.items, next_cursor=page.next_cursor)


@router.post("/webhooks", status_code=201, response_model=SubscriptionCreated)
def create_installation_webhook(_user: Admin, new: NewSubscriptionDep) -> SubscriptionCreated:
    """Subscribe to every component's builds (admin)."""
    return new.create(None)


@router.get("/webhooks", response_model=PageOut[SubscriptionOut])
def list_installation_webhooks(
    session: SessionDep, _user: Admin, paging: PagingQuery
) -> PageOut[SubscriptionOut]:
    page = service.list_subscriptions(session, None, cursor=paging.cursor, limit=paging.limit)
    return PageOut(items=page.items, next_cursor=page.next_cursor)


@router.get("/webhooks/{subscription_id}", response_model=SubscriptionOut)
def get_webhook(session: SessionDep, subscription_id: int, user: Viewer) -> SubscriptionOut:
    return service.out(session, service.get(session, user, subscription_id, write=False))


@router.delete("/webhooks/{subscription_id}", status_code=204)
def delete_webhook(
    session: SessionDep, subscription_id: int, user: Viewer, actor: ActorDep
) -> Response:
    service.delete(session, service.get(session, user, subscription_id, write=True), actor=actor)
    return Response(status_code=204)


@router.get("/webhooks/{subscription_id}/deliveries", response_model=PageOut[DeliveryOut])
def list_deliveries(
    session: SessionDep, subscription_id: int, user: Viewer, paging: PagingQuery
) -> PageOut[DeliveryOut]:
    """The delivery log: each delivery with every attempt's time, status, latency and the
    first KB of the answer."""
    subscription = service.get(session, user, subscription_id, write=False)
    page = service.deliveries(session, subscription, cursor=paging.cursor, limit=paging.limit)
    return PageOut(items=page.items, next_cursor=page.next_cursor)


@router.post("/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver", status_code=202)
def redeliver(
    session: SessionDep,
    runtime: RuntimeDep,
    background: BackgroundTasks,
    subscription_id: int,
    delivery_id: int,
    user: Viewer,
    actor: ActorDep,
) -> Response:
    """Send the delivery again now (same webhook-id); 202: it is queued."""
    subscription = service.get(session, user, subscription_id, write=True)
    service.redeliver(
        session,
        subscription,
        delivery_id,
        retry_for=runtime.settings.webhook_retry_for,
        actor=actor,
    )
    background.add_task(runtime.deliveries.wake)  # after the commit
    return Response(status_code=202)
