"""What a hostile or broken pipeline can send: a property named twice, a build grown
without bound. Each is refused with a clear 4xx and changes nothing."""

from __future__ import annotations

import json

from tests.conftest import Api
from tests.ingest.conftest import MakeApi, assert_problem, build_detail, history
from tests.support import events as ev


def test_a_property_named_twice_is_400_and_stores_nothing(api: Api) -> None:
    api.component("comp")
    key = api.key("comp")
    start = json.dumps(ev.start("p1", "comp"))
    # "type" twice: one JSON parser would read a start event, another an end event.
    twice = start.replace('"type": ', '"type": "codenow.ci.end.event", "type": ', 1)
    assert twice.count('"type"') == 2
    body = assert_problem(api.send(twice, key), 400)
    assert "'type'" in body["detail"]
    assert history(api, "comp") == []
    nested = start.replace('"username": ', '"username": "mallory", "username": ', 1)
    assert_problem(api.send(nested, key), 400)
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
    body = assert_problem(api.send(ev.result("p1", *more), key), 409)
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
    assert_problem(api.send(ev.result("p1", more[2]), key), 409)
    assert api.send(ev.end("p1", "FAILED"), key).json()["buildStatus"] == "FAILED"
