"""The per-key budget where several server processes share one PostgreSQL database."""

from __future__ import annotations

from datetime import timedelta

from tests.ingest.conftest import MakeApi
from tests.support import events as ev
from tests.support.fake_clock import FakeClock


def test_two_servers_share_one_budget_on_postgresql_and_sqlite_counts_per_process(
    make_api: MakeApi,
) -> None:
    first = make_api(rate_limit_per_minute=4)
    second = make_api(rate_limit_per_minute=4)  # a second server on the same database
    first.component("comp")
    key = first.key("comp")

    answers = [
        (api.send(ev.start(f"p{i}", "comp"), key), name)
        for i, (api, name) in enumerate([(first, "a"), (second, "b")] * 3)
    ]
    codes = [r.status_code for r, _ in answers]
    remaining = [r.headers["x-ratelimit-remaining"] for r, _ in answers]
    if first.runtime.engine.dialect.name == "postgresql":
        # One window across both: the fifth request of the minute is refused, wherever it lands.
        assert codes == [200, 200, 200, 200, 429, 429]
        assert remaining == ["3", "2", "1", "0", "0", "0"]
        assert answers[4][0].headers["retry-after"].isdigit()
    else:
        # SQLite is one process by design; each app here counts what it serves.
        assert codes == [200] * 6
        assert remaining == ["3", "3", "2", "2", "1", "1"]


def test_a_new_window_starts_after_a_minute(make_api: MakeApi) -> None:
    """In memory (SQLite, the default) and in the shared table (PostgreSQL) alike."""
    clock = FakeClock()
    api = make_api(rate_limit_per_minute=1, clock=clock)
    api.component("comp")
    key = api.key("comp")
    assert api.send(ev.start("p1", "comp"), key).status_code == 200
    assert api.send(ev.start("p2", "comp"), key).status_code == 429
    clock.advance(timedelta(seconds=59))
    r = api.send(ev.start("p2", "comp"), key)
    assert r.status_code == 429, r.text
    assert r.headers["retry-after"] == r.headers["x-ratelimit-reset"] == "1"
    clock.advance(timedelta(seconds=1))
    r = api.send(ev.start("p2", "comp"), key)
    assert r.status_code == 200, r.text
    assert r.headers["x-ratelimit-remaining"] == "0"
    assert r.headers["x-ratelimit-reset"] == "60"
