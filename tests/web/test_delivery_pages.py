"""The component page's delivery panels over HTTP (no browser), on SQLite and PostgreSQL:
what they say with and without a deployable build, and nothing the CSP would block."""

from __future__ import annotations

import re

from tests.support import events as ev
from tests.support.api import Api
from tests.web.test_pages import sign_in


def test_panels_with_and_without_a_deployable_build(api: Api) -> None:
    api.component("orders-service")
    key = api.key("orders-service")
    api.token("viewer")
    assert sign_in(api, "viewer").status_code == 303
    html = api.client.get("/components/orders-service").text
    assert "Deployable now" in html
    assert 'id="nothing-deployable"' in html
    assert "No builds to chart yet." in html

    for pid, outcome in (("p1", "SUCCESSFUL"), ("p2", "FAILED")):
        api.send(ev.start(pid, "orders-service", f"1.0.{pid[1]}"), key)
        api.send(ev.result(pid, *ev.deployable()), key)
        api.send(ev.end(pid, outcome), key)
    page = api.client.get("/components/orders-service")
    html = page.text
    assert "nothing-deployable" not in html
    assert "registry.example.org/team/orders-service:1.4.0" in html
    assert len(re.findall(r'<rect class="bar bar-\w+" data-status', html)) == 2
    assert 'fill="url(#hp-failed)"' in html
    # The strict CSP stays: no inline style or script anywhere on the page.
    assert "style-src 'self'" in page.headers["content-security-policy"]
    assert not re.search(r"<style|\sstyle=|<script(?![^>]*\ssrc=)", html)
    # The live history fragment does not compute the panels (it does not show them).
    fragment = api.client.get("/components/orders-service?fragment=1").text
    assert "Deployable now" not in fragment
