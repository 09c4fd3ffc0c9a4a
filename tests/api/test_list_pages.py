"""Keyset pagination of the CI key, token and user lists (management.md §2: "Lists are
newest first with keyset pagination"): ``{"items": [...], "nextCursor": ... | null}``."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from extci.db import unit_of_work
from extci.keys import service as keys
from tests.api.helpers import items
from tests.support import factories
from tests.support.api import Api
from tests.support.problems import pointers, problem

KEYS = "/api/v1/components/orders-service/ci-keys"
COUNT = 7  # more than two pages of 3


@dataclass(frozen=True)
class Listing:
    name: str
    path: str
    field: str  # what tells the items apart
    # Creates COUNT items (oldest first); returns the headers to list them with and the
    # expected field values, newest first.
    fill: Callable[[Api], tuple[dict[str, str], list[str]]]

    def __str__(self) -> str:
        return self.name


def fill_keys(api: Api) -> tuple[dict[str, str], list[str]]:
    api.component("orders-service")
    api.component("billing")
    names = [f"key-{i}" for i in range(COUNT)]
    for name in names:
        api.key("orders-service", name=name)
        api.key("billing", name=f"other-{name}")  # interleaved: never on this list
    return api.token("viewer"), names[::-1]


def fill_tokens(api: Api) -> tuple[dict[str, str], list[str]]:
    h = api.token("viewer", "vera")  # its own token is named "test"
    api.token("viewer", "someone-else")  # whose token is never on vera's list
    names = ["test"] + [f"token-{i}" for i in range(COUNT - 1)]
    for name in names[1:]:
        r = api.client.post("/api/v1/tokens", json={"name": name}, headers=h)
        assert r.status_code == 201, r.text
    return h, names[::-1]


def fill_users(api: Api) -> tuple[dict[str, str], list[str]]:
    h = api.token("admin", "root")
    names = ["root"] + [f"user-{i}" for i in range(COUNT - 1)]
    for name in names[1:]:
        factories.make_user(api.runtime.sessions, api.secret, name, "viewer")
    return h, names[::-1]


LISTINGS = [
    Listing("ci-keys", KEYS, "name", fill_keys),
    Listing("tokens", "/api/v1/tokens", "name", fill_tokens),
    Listing("users", "/api/v1/users", "username", fill_users),
]


def get(api: Api, listing: Listing, h: dict[str, str], **params: str) -> dict[str, Any]:
    r = api.client.get(listing.path, params=params, headers=h)
    items(r)  # 200 and the page shape
    body: dict[str, Any] = r.json()
    return body


def cursor_of(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize("listing", LISTINGS, ids=str)
def test_pages_return_each_item_once_newest_first(api: Api, listing: Listing) -> None:
    h, expected = listing.fill(api)
    seen: list[str] = []
    sizes: list[int] = []
    cursor: str | None = None
    while True:
        params = {"limit": "3"} | ({"cursor": cursor} if cursor else {})
        body = get(api, listing, h, **params)
        sizes.append(len(body["items"]))
        seen += [item[listing.field] for item in body["items"]]
        cursor = body["nextCursor"]
        if cursor is None:
            break
        assert isinstance(cursor, str)
        assert cursor
        assert len(sizes) < 10, "the pages never end"
    assert seen == expected
    assert sizes == [3, 3, 1]


@pytest.mark.parametrize("listing", LISTINGS, ids=str)
def test_one_page_holding_everything_has_a_null_cursor(api: Api, listing: Listing) -> None:
    h, expected = listing.fill(api)
    for params in ({}, {"limit": "200"}, {"limit": str(COUNT + 1)}):
        body = get(api, listing, h, **params)
        assert [item[listing.field] for item in body["items"]] == expected
        assert body["nextCursor"] is None
    one = get(api, listing, h, limit="1")
    assert [item[listing.field] for item in one["items"]] == expected[:1]
    assert one["nextCursor"] is not None


@pytest.mark.parametrize("listing", LISTINGS, ids=str)
def test_cursor_is_stable_when_items_are_added_between_pages(api: Api, listing: Listing) -> None:
    h, expected = listing.fill(api)
    first = get(api, listing, h, limit="4")
    assert [item[listing.field] for item in first["items"]] == expected[:4]
    late = add_one(api, listing, h)
    second = get(api, listing, h, limit="4", cursor=first["nextCursor"])
    names = [item[listing.field] for item in second["items"]]
    assert names == expected[4:]
    assert late not in names
    assert second["nextCursor"] is None


def add_one(api: Api, listing: Listing, h: dict[str, str]) -> str:
    """One more item, newer than all of them."""
    if listing.name == "ci-keys":
        api.key("orders-service", name="late")
    elif listing.name == "tokens":
        r = api.client.post("/api/v1/tokens", json={"name": "late"}, headers=h)
        assert r.status_code == 201, r.text
    else:
        factories.make_user(api.runtime.sessions, api.secret, "late", "viewer")
    return "late"


@pytest.mark.parametrize("listing", LISTINGS, ids=str)
@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        "%%%",
        cursor_of([]),
        cursor_of([1, 2]),
        cursor_of(["7"]),
        cursor_of([1.5]),
        cursor_of([True]),
        cursor_of([0]),
        cursor_of([-1]),
        cursor_of([10**30]),
        cursor_of([2**63]),
        cursor_of({"id": 3}),
        cursor_of(None),
    ],
)
def test_a_cursor_this_server_did_not_issue_is_400_at_cursor(
    api: Api, listing: Listing, cursor: str
) -> None:
    h, _ = listing.fill(api)
    body = problem(api.client.get(listing.path, params={"cursor": cursor}, headers=h), 400)
    assert pointers(body) == ["/cursor"]


@pytest.mark.parametrize("listing", LISTINGS, ids=str)
def test_a_cursor_past_the_newest_item_lists_them_all(api: Api, listing: Listing) -> None:
    h, expected = listing.fill(api)
    # 2**31-1: the largest id these tables hold on both databases (INTEGER on PostgreSQL)
    body = get(api, listing, h, cursor=cursor_of([2**31 - 1]))
    assert [item[listing.field] for item in body["items"]] == expected
    assert body["nextCursor"] is None


@pytest.mark.parametrize("listing", LISTINGS, ids=str)
@pytest.mark.parametrize("limit", ["0", "201", "-1", "abc", ""])
def test_limit_out_of_range_is_400_naming_limit(api: Api, listing: Listing, limit: str) -> None:
    h, _ = listing.fill(api)
    body = problem(api.client.get(listing.path, params={"limit": limit}, headers=h), 400)
    assert pointers(body) == ["/limit"]


def test_key_pages_follow_the_component_after_a_key_is_deleted(api: Api) -> None:
    """The cursor names the last key seen; deleting that very key does not break paging."""
    h, expected = fill_keys(api)
    first = get(api, LISTINGS[0], h, limit="3")
    last_id = first["items"][-1]["id"]
    with unit_of_work(api.runtime.sessions, write=True) as session:
        keys.delete(session, "orders-service", last_id, actor=factories.TESTS)
    rest = get(api, LISTINGS[0], h, limit="10", cursor=first["nextCursor"])
    assert [k["name"] for k in rest["items"]] == expected[3:]
