"""The authorisation matrix: every route of the app x every principal, against the one
declared table in tests/support/access_rules.py, on SQLite and PostgreSQL through HTTP.

The routes come from ``app.routes``: a route added without a rule fails here. After every
refusal the stored state is compared with a snapshot taken just before: nothing changed.
An allowed read changes nothing either; an allowed write changes something (so "ok" is not
an answer that did nothing).
"""

from __future__ import annotations

import pytest

from tests.support.access_rules import RULES, SIGN_IN, Outcome, expected
from tests.support.routes import RouteKey, declared_routes
from tests.support.snapshot import changed_tables
from tests.support.world import PRINCIPALS, World

ROUTES = declared_routes()
_SNIPPET = 300


def outcome_of(status: int, location: str) -> Outcome:
    """A status code, or SIGN_IN for the web UI's "sign in first" redirect."""
    if status == 303 and location.startswith("/sign-in?"):
        return SIGN_IN
    return status


def refused(outcome: Outcome) -> bool:
    return outcome == SIGN_IN or (isinstance(outcome, int) and outcome >= 400)


def test_every_route_of_the_app_has_a_rule() -> None:
    missing = [str(r) for r in ROUTES if r not in RULES]
    assert not missing, f"routes without an access rule in tests/support/access_rules.py: {missing}"


def test_every_rule_names_a_route_unless_pending() -> None:
    """A rule for a route that is gone (or misspelt) would silently test nothing."""
    stale = [str(r) for r, rule in RULES.items() if r not in ROUTES and rule.pending is None]
    assert not stale, f"rules for routes the app does not have: {stale}"


@pytest.mark.parametrize("principal_name", PRINCIPALS)
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_access(world: World, route: RouteKey, principal_name: str) -> None:
    rule = RULES.get(route)
    if rule is None:
        pytest.fail(f"{route} has no access rule: declare one in tests/support/access_rules.py")
    principal = world.principals[principal_name]
    if principal.unavailable:
        pytest.skip(principal.unavailable)
    for variant in rule.variants:
        call = rule.prepare(world, principal, variant)
        want = expected(route, rule, principal, call)
        before = world.snapshot()
        response = world.send(route, principal, call)
        got = outcome_of(response.status_code, response.headers.get("location", ""))
        what = f"{route}{f' ({variant})' if variant else ''} as {principal_name}"
        streamed = response.headers.get("content-type", "").startswith("text/event-stream")
        body = "(a stream)" if streamed else response.text[:_SNIPPET]
        assert got in want, f"{what}: expected {sorted(map(str, want))}, got {got}: {body}"
        if route.face != "web" and got in (401, 403):
            assert response.headers["content-type"].startswith("application/problem+json")
        changes = changed_tables(before, world.snapshot())
        if refused(got) or route.safe:
            assert not changes, f"{what} answered {got} but changed {changes}"
        else:
            assert changes, f"{what} answered {got} and changed nothing"
