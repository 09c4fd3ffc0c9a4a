from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Response

from extci.accounts.dependencies import ActorDep, Admin, AdminCall, Editor, ViewerCall
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


# Declared after the role in each route, for the reader: a role's 401/403 wins over the
# body's validation errors whatever the order (FastAPI raises the first, collects the
# others); a body that is not JSON at all is refused before either, as on every route.
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
    call: ViewerCall, component_id: str, paging: PagingQuery
) -> PageOut[SubscriptionOut]:
    """A component's subscriptions, each with how many of its deliveries were given up on
    and how many are being retried."""
    page = service.list_subscriptions(
        call.session, component_id, cursor=paging.cursor, limit=paging.limit
    )
    return PageOut(items=page.items, next_cursor=page.next_cursor)


@router.post("/webhooks", status_code=201, response_model=SubscriptionCreated)
def create_installation_webhook(_user: Admin, new: NewSubscriptionDep) -> SubscriptionCreated:
    """Subscribe to every component's builds (admin)."""
    return new.create(None)


@router.get("/webhooks", response_model=PageOut[SubscriptionOut])
def list_installation_webhooks(call: AdminCall, paging: PagingQuery) -> PageOut[SubscriptionOut]:
    """The installation-wide subscriptions (admin), each with how many of its deliveries
    were given up on and how many are being retried."""
    page = service.list_subscriptions(call.session, None, cursor=paging.cursor, limit=paging.limit)
    return PageOut(items=page.items, next_cursor=page.next_cursor)


@router.get("/webhooks/{subscription_id}", response_model=SubscriptionOut)
def get_webhook(call: ViewerCall, subscription_id: int) -> SubscriptionOut:
    subscription = service.get(call.session, call.user, subscription_id, write=False)
    return service.out(call.session, subscription)


@router.delete("/webhooks/{subscription_id}", status_code=204)
def delete_webhook(call: ViewerCall, subscription_id: int) -> Response:
    subscription = service.get(call.session, call.user, subscription_id, write=True)
    service.delete(call.session, subscription, actor=call.actor)
    return Response(status_code=204)


@router.get("/webhooks/{subscription_id}/deliveries", response_model=PageOut[DeliveryOut])
def list_deliveries(
    call: ViewerCall, subscription_id: int, paging: PagingQuery
) -> PageOut[DeliveryOut]:
    """The delivery log: each delivery with every attempt's time, status, latency and the
    first KB of the answer."""
    subscription = service.get(call.session, call.user, subscription_id, write=False)
    page = service.deliveries(call.session, subscription, cursor=paging.cursor, limit=paging.limit)
    return PageOut(items=page.items, next_cursor=page.next_cursor)


@router.post("/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver", status_code=202)
def redeliver(
    call: ViewerCall,
    runtime: RuntimeDep,
    background: BackgroundTasks,
    subscription_id: int,
    delivery_id: int,
) -> Response:
    """Send the delivery again now (same webhook-id); 202: it is queued."""
    subscription = service.get(call.session, call.user, subscription_id, write=True)
    service.redeliver(
        call.session,
        subscription,
        delivery_id,
        retry_for=runtime.settings.webhook_retry_for,
        actor=call.actor,
    )
    background.add_task(runtime.deliveries.wake)  # after the commit
    return Response(status_code=202)
