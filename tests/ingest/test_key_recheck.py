"""The key is checked twice: first from a short-lived cache before the body is read, then
again inside the event's own write transaction (the writer's batch), so a suspend or a
delete that lands in between wins, and nothing is stored with a revoked key."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from extci.builds.models import Build
from extci.db import unit_of_work
from extci.errors import Unauthorized
from extci.ingest.events import EndEvent, ResultEvent, StartEvent
from extci.ingest.parse import parse_event
from extci.keys import service as keys
from extci.keys.models import CIKey
from tests.support import events as ev
from tests.support import factories
from tests.support.api import Api

COMPONENT = "orders-service"


def authenticated(api: Api) -> tuple[int, keys.AuthenticatedKey]:
    api.component(COMPONENT)
    key_id, _secret = factories.make_key(api.runtime.sessions, api.secret, COMPONENT)
    return key_id, keys.AuthenticatedKey(key_id, COMPONENT)


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


def store(api: Api, key: keys.AuthenticatedKey) -> object:
    """Through the writer, as the webhook does (on a loop of its own: a browser test may
    have left the main thread's loop running)."""
    event = start_event(api)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, api.runtime.writer.submit((event, key))).result()


def test_an_active_key_stores_the_event_and_stamps_its_use(api: Api) -> None:
    key_id, key = authenticated(api)
    outcome = store(api, key)
    assert getattr(outcome, "pipeline_id", None) == "p1"
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
        store(api, key)
    assert builds(api) == 0
    with api.runtime.sessions() as session:
        row = session.get(CIKey, key_id)
        assert row is None or row.last_used_at is None


@pytest.mark.parametrize("revoke", [suspend, delete], ids=["suspended", "deleted"])
def test_the_webhook_refuses_a_revoked_key_within_the_cache_lifetime(
    api: Api, revoke: Callable[[Api, int], None]
) -> None:
    """The first check may answer from its cache for EXTCI_KEY_CACHE_SECONDS (1 s by
    default, at most 2): a revoked key is refused by the webhook within that bound."""
    api.component(COMPONENT)
    key_id, secret = factories.make_key(api.runtime.sessions, api.secret, COMPONENT)
    assert api.send(ev.start("p1", COMPONENT), secret).status_code == 200  # now cached
    revoke(api, key_id)
    deadline = time.monotonic() + 2 * api.runtime.settings.key_cache_seconds + 0.5
    answers = []
    n = 2
    while time.monotonic() < deadline:
        answers.append(api.send(ev.start(f"p{n}", COMPONENT), secret).status_code)
        n += 1
        if answers[-1] == 401:
            break
        time.sleep(0.05)
    assert answers[-1] == 401, answers
    assert set(answers) <= {401}, "a revoked key's event was stored: the writer re-checks it"
    assert builds(api) == 1
