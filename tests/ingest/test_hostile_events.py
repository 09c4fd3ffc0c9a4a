"""What a hostile or broken pipeline can send: a property named twice, a build grown
without bound. Each is refused with a clear 4xx and changes nothing."""

from __future__ import annotations

import json
import re

from tests.ingest.conftest import MakeApi, build_detail, history
from tests.support import events as ev
from tests.support import factories
from tests.support.api import Api
from tests.support.problems import problem
from tests.web.test_pages import sign_in


def test_a_property_named_twice_is_400_and_stores_nothing(api: Api) -> None:
    api.component("comp")
    key = api.key("comp")
    start = json.dumps(ev.start("p1", "comp"))
    # "type" twice: one JSON parser would read a start event, another an end event.
    twice = start.replace('"type": ', '"type": "codenow.ci.end.event", "type": ', 1)
    assert twice.count('"type"') == 2
    body = problem(api.send(twice, key), 400)
    assert "'type'" in body["detail"]
    assert history(api, "comp") == []
    nested = start.replace('"username": ', '"username": "mallory", "username": ', 1)
    problem(api.send(nested, key), 400)
    assert history(api, "comp") == []
    assert api.send(start, key).status_code == 200


def test_a_build_holds_at_most_the_configured_number_of_results(make_api: MakeApi) -> None:
    api = make_api(max_results_per_build=5)
    api.component("comp")
    key = api.key("comp")
    assert api.send(ev.start("p1", "comp"), key).status_code == 200
    first = [ev.link(f"r{n}", f"https://ci.example.org/{n}") for n in range(3)]
    assert api.send(ev.result("p1", *first), key).status_code == 200
    more = [ev.link(f"s{n}", f"https://ci.example.org/s{n}") for n in range(3)]
    body = problem(api.send(ev.result("p1", *more), key), 409)
    assert "5" in body["detail"]
    assert "EXTCI_MAX_RESULTS_PER_BUILD" in body["detail"]
    detail = build_detail(api, "comp", "p1")
    assert [r["name"] for r in detail["results"]] == ["r0", "r1", "r2"]
    assert len(detail["events"]) == 2  # the refused event left no trace
    # Items already stored do not count again; up to the limit is fine.
    r = api.send(ev.result("p1", *first, *more[:2]), key)
    assert r.status_code == 200, r.text
    assert len(build_detail(api, "comp", "p1")["results"]) == 5
    assert api.send(ev.result("p1", *first), key).json()["duplicate"] is True
    problem(api.send(ev.result("p1", more[2]), key), 409)
    assert api.send(ev.end("p1", "FAILED"), key).json()["buildStatus"] == "FAILED"


def test_a_long_list_of_results_is_paged_in_the_api_and_on_the_page(api: Api) -> None:
    api.component("comp")
    key = api.key("comp")
    assert api.send(ev.start("p1", "comp"), key).status_code == 200
    links = [ev.link(f"r{n:03}", f"https://ci.example.org/{n}") for n in range(250)]
    for chunk in (links[:100], links[100:200], [*links[200:], ev.git_revision()]):
        assert api.send(ev.result("p1", *chunk), key).status_code == 200
    viewer = {"Authorization": api.token("viewer")["Authorization"]}
    url = "/api/v1/components/comp/builds/p1"
    first = api.client.get(url, headers=viewer).json()
    assert len(first["results"]) == 200  # the default page
    assert first["gitRevision"]["branch"] == "main"  # found although on a later page
    names, cursor = [], None
    while True:
        params = {"resultsLimit": "120", **({"resultsCursor": cursor} if cursor else {})}
        page = api.client.get(url, params=params, headers=viewer).json()
        names += [r.get("name") for r in page["results"] if r["type"] == "link"]
        cursor = page["resultsNextCursor"]
        if cursor is None:
            break
    assert names == [f"r{n:03}" for n in range(250)]  # each once, in the order they came
    bad = api.client.get(url, params={"resultsCursor": "bm9wZQ"}, headers=viewer)
    assert [e["pointer"] for e in problem(bad, 400)["errors"]] == ["/resultsCursor"]
    factories.make_user(api.runtime.sessions, api.secret, "web-viewer", "viewer")
    assert sign_in(api, "web-viewer").status_code == 303
    page = api.client.get("/components/comp/builds/p1")
    assert page.status_code == 200
    assert "Showing 200 of 251 results." in page.text
    assert page.text.count('class="muted small"> · ') >= 200
    more = re.search(r'href="([^"]+results=[^"#]+)#results"', page.text)
    assert more is not None
    rest = api.client.get(more.group(1).replace("&amp;", "&"))
    assert "r249" in rest.text
    assert "r000" not in rest.text
