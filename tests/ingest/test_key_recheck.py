"""The key is checked again inside the event's own write transaction: a suspend or a delete
that lands between authentication and storing the event wins (``keys.confirm_active``)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from extci.builds.models import Build
from extci.db import unit_of_work
from extci.errors import Unauthorized
from extci.ingest.endpoint import _ingest
from extci.ingest.events import EndEvent, ResultEvent, StartEvent
from extci.ingest.parse import parse_event
from extci.keys import service as keys
from extci.keys.models import CIKey
from tests.conftest import Api
from tests.support import events as ev
from tests.support import factories

COMPONENT = "orders-service"


def authenticated(api: Api) -> tuple[int, keys.AuthenticatedKey]:
    api.component(COMPONENT)
    key_id, secret = factories.make_key(api.runtime.sessions, api.secret, COMPONENT)
    with unit_of_work(api.runtime.sessions) as session:
        return key_id, keys.authenticate(session, api.secret, secret)


def suspend(api: Api, key_id: int) -> None:
    with unit_of_work(api.runtime.sessions, write=True) as session:
        keys.suspend(session, COMPONENT, key_id, actor=factories.TESTS)


def delete(api: Api, key_id: int) -> None:
    with unit_of_work(api.runtime.sessions, write=True) as session:
        keys.delete(session, COMPONENT, key_id, actor=factories.TESTS)


def builds(api: Api) -> int:
    with api.runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(Build)) or 0


def start_event(api: Api, pipeline_id: str = "p1") -> StartEvent | ResultEvent | EndEvent:
    return parse_event(json.dumps(ev.start(pipeline_id, COMPONENT)).encode(), api.runtime.limits)


def test_an_active_key_stores_the_event_and_stamps_its_use(api: Api) -> None:
    key_id, key = authenticated(api)
    outcome = _ingest(api.runtime, start_event(api), key)
    assert outcome.pipeline_id == "p1"
    assert builds(api) == 1
    with api.runtime.sessions() as session:
        row = session.get(CIKey, key_id)
        assert row is not None
        assert row.last_used_at is not None


@pytest.mark.parametrize("revoke", [suspend, delete], ids=["suspended", "deleted"])
def test_a_key_revoked_after_authentication_stores_nothing(
    api: Api, revoke: Callable[[Api, int], None]
) -> None:
    key_id, key = authenticated(api)
    revoke(api, key_id)
    with pytest.raises(Unauthorized):
        _ingest(api.runtime, start_event(api), key)
    assert builds(api) == 0
    with api.runtime.sessions() as session:
        row = session.get(CIKey, key_id)
        assert row is None or row.last_used_at is None
