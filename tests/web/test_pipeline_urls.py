"""A pipelineId may hold any characters (management.md §1): every build can be opened from
the UI and from the API (issue 8, finding 13). "." and ".." are dot segments that browsers
remove from a path even percent-encoded, so the UI addresses those by query string; the
API answers them percent-encoded. And a dashboardUrl that a browser would trim is refused.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, expect

from tests.support import events as ev
from tests.support.api import Api
from tests.support.live import LiveServer
from tests.support.problems import pointers, problem
from tests.web.pages import sign_in
from tests.web.test_pages import sign_in as sign_in_http

PIPELINES = [".", "..", "a/b", "%", "a/../b", "./x", "..%2F", "?x=1#y"]
HREF = re.compile(r'<a class="strong" href="([^"]+)">')


def build_versions(pipelines: list[str]) -> dict[str, str]:
    return {p: f"1.0.{i}" for i, p in enumerate(pipelines)}


def follow_every_history_link(client: httpx.Client, versions: dict[str, str]) -> None:
    """Open the component's page, then each build through its link, as a browser would."""
    history = client.get("/components/orders").text
    links = [html.unescape(h) for h in HREF.findall(history)]
    assert len(links) == len(versions)
    seen = set()
    for link in links:
        # what a browser removes from a path before asking for it (WHATWG URL: dot segments,
        # percent-encoded ones included)
        segments = [s.lower() for s in link.split("?", 1)[0].split("/")]
        assert not {".", "..", "%2e", "%2e%2e", ".%2e", "%2e."} & set(segments), link
        page = client.get(link)
        assert page.status_code == 200, (link, page.text[:300])
        shown = re.search(r"<h1>Build (\S+)", page.text)
        assert shown, page.text[:300]
        pipeline = next(p for p, v in versions.items() if v == shown.group(1))
        assert html.escape(pipeline, quote=False) in page.text
        seen.add(pipeline)
        live = re.search(r'data-live-src="([^"]+)"', page.text)
        assert live
        fragment = client.get(html.unescape(live.group(1)))
        assert fragment.status_code == 200
        assert f"<h1>Build {shown.group(1)} " in fragment.text
    assert seen == set(versions)


def percent_encoded(pipeline_id: str) -> str:
    """Every character but letters and digits percent-encoded, "." included: how a client
    keeps a dot segment in a path."""
    return "".join(c if c.isalnum() else f"%{ord(c):02X}" for c in pipeline_id)


def test_every_pipeline_id_opens_from_the_history_and_the_api(api: Api) -> None:
    # Starlette's TestClient decodes a path twice ("%252F" arrives as "/"): the ids with a
    # "%" are checked against a real server below.
    pipelines = [p for p in PIPELINES if "%" not in p]
    api.component("orders")
    key = api.key("orders")
    versions = build_versions(pipelines)
    for pipeline, version in versions.items():
        assert api.send(ev.start(pipeline, "orders", version), key).status_code == 200
    api.token("editor")
    sign_in_http(api, "editor")
    follow_every_history_link(api.client, versions)
    headers = api.token("viewer")
    for pipeline, version in versions.items():
        path = f"/api/v1/components/orders/builds/{percent_encoded(pipeline)}"
        r = api.client.get(path, headers=headers)
        assert r.status_code == 200, (pipeline, r.text)
        assert (r.json()["pipelineId"], r.json()["buildVersion"]) == (pipeline, version)


@pytest.mark.slow
def test_every_pipeline_id_opens_on_a_real_server(live_server: LiveServer) -> None:
    key = live_server.external_component("orders")
    versions = build_versions(PIPELINES)
    headers = {**ev.HEADERS, "X-Codenow-Api-Key": key}
    with httpx.Client(base_url=live_server.url, timeout=10, follow_redirects=True) as client:
        for pipeline, version in versions.items():
            sent = client.post(
                "/ci/webhook", json=ev.start(pipeline, "orders", version), headers=headers
            )
            assert sent.status_code == 200, sent.text
        for pipeline, version in versions.items():
            detail = live_server.request(
                "GET", f"/api/v1/components/orders/builds/{percent_encoded(pipeline)}"
            )
            assert (detail["pipelineId"], detail["buildVersion"]) == (pipeline, version)
        form = client.get("/sign-in").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert csrf
        signed_in = client.post(
            "/sign-in",
            data={
                "username": "tester",
                "password": "correct horse battery",
                "csrf_token": csrf.group(1),
            },
        )
        assert signed_in.status_code == 200, signed_in.text[:300]
        follow_every_history_link(client, versions)


@pytest.mark.parametrize(
    "url", [" https://ci.example.org/1", "https://ci.example.org/1 ", "\thttps://ci.example.org/1"]
)
def test_a_dashboard_url_a_browser_would_trim_is_refused(api: Api, url: str) -> None:
    api.component("orders")
    key = api.key("orders")
    refused = api.send(ev.start("p-1", "orders", dashboardUrl=url), key)
    assert "/dashboardUrl" in pointers(problem(refused, 400))
    headers = api.token("viewer")
    assert api.client.get("/api/v1/components/orders/builds", headers=headers).json() == {
        "items": [],
        "nextCursor": None,
    }


@pytest.mark.browser
@pytest.mark.slow
def test_a_browser_opens_the_builds_named_dot_and_dot_dot(
    open_page: Callable[..., Page], server: LiveServer
) -> None:
    server.cli("components", "create", "orders", "--kind", "library")
    server.cli("components", "ci-mode", "orders", "external")
    key = server.cli("keys", "create", "orders", "--name", "ci").strip()
    versions = build_versions([".", ".."])
    for pipeline, version in versions.items():
        assert server.send(ev.start(pipeline, "orders", version), key).status_code == 200
    page = open_page()
    sign_in(page, "viewer")
    for version in versions.values():
        page.goto("/components/orders")
        page.get_by_role("link", name=version, exact=True).click()
        expect(page.locator("main")).to_contain_text(version)
        expect(page.get_by_role("heading", level=1)).to_contain_text(version)
