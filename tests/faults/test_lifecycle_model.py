"""The lifecycle as a model (issue 9, item 2): Hypothesis drives random sequences of start,
result and end events, replays of any earlier request (as is and with conflicting content),
suspending and resuming the CI key, deactivating the key's creator and restarting the app;
after every step every answer is the one the contract gives and the database, read
directly, matches the model: one build per component and pipelineId, each result item
stored once, one timeline entry per accepted event, the status decided by the first end.

Through real ASGI (TestClient) on SQLite and PostgreSQL; 25 examples of up to 30 steps.

The model follows ci-events.md alone. Where the contracts are silent it says so:
- a CI key stays valid when the user who created it is deactivated (management.md says a
  deactivated user's tokens and sessions end, and nothing about the CI keys they made);
- two components never share a pipelineId here (the same id in two components is two
  builds by the contract, which needs migration 0005; each component gets its own ids)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, note
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text

from extci.app import create_app
from extci.config import Settings
from tests.support import events as ev
from tests.support import factories
from tests.support.api import Api

ITEMS: dict[str, dict[str, Any]] = {
    "git-revision": ev.git_revision(),
    "git-tag": ev.git_tag(),
    "container": ev.artifact("container"),
    "helm": ev.artifact("helm"),
    "maven": ev.artifact("maven"),
    "npm": ev.artifact("npm"),
    "link": ev.link(),
}
# ci-events.md §3, as written there: each requirement is satisfied by any one of its types.
REQUIRED = {
    "application-component": [{"container"}, {"helm"}, {"git-revision", "git-tag"}],
    "library": [{"git-revision", "git-tag"}, {"maven", "npm", "nuget"}],
}
END_STATUS = {"SUCCESSFUL": "SUCCESSFUL", "FAILED": "FAILED", "CANCELED": "CANCELLED"}
COMPONENTS = {"app": "application-component", "lib": "library"}
PIPELINES = 3  # per component: small, so that events meet the same builds often


class Harness:
    """The app under test; ``restart`` replaces it with a fresh one on the same database."""

    def __init__(self, app_settings: Settings) -> None:
        self.settings = app_settings
        self.api = self._open()
        self.admin = self.api.token("admin", username=f"admin-{uuid.uuid4().hex[:8]}")

    def _open(self) -> Api:
        app = create_app(self.settings)
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        return Api(client, app.state.runtime)

    def close(self) -> None:
        self.api.client.__exit__(None, None, None)
        self.api.runtime.close()

    def restart(self) -> None:
        self.close()
        self.api = self._open()


@dataclass
class ModelBuild:
    version: str
    kind: str
    items: set[str] = field(default_factory=set)
    end: str | None = None
    status: str = "BUILDING"
    timeline: int = 1


@dataclass(frozen=True)
class Answer:
    status: int
    build_status: str | None = None
    duplicate: bool | None = None


class Lifecycle(RuleBasedStateMachine):
    harness: ClassVar[Harness]

    def __init__(self) -> None:
        super().__init__()
        api = self.harness.api
        self.tag = uuid.uuid4().hex[:8]
        self.creator = f"editor-{self.tag}"
        editor = api.token("editor", username=self.creator)
        self.component: dict[str, str] = {}
        self.key: dict[str, str] = {}
        self.key_id: dict[str, int] = {}
        for name, kind in COMPONENTS.items():
            component_id = f"{name}-{self.tag}"
            factories.make_component(api.runtime.sessions, component_id, kind)
            r = api.client.post(
                f"/api/v1/components/{component_id}/ci-keys", json={"name": "ci"}, headers=editor
            )
            assert r.status_code == 201, r.text
            self.component[name] = component_id
            self.key[name] = r.json()["key"]
            self.key_id[name] = r.json()["id"]
        self.builds: dict[tuple[str, str], ModelBuild] = {}
        self.suspended = {name: False for name in COMPONENTS}
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.deactivation_supported: bool | None = None

    # ---- the model: what the contract answers ------------------------------------------

    def expect(self, name: str, event: dict[str, Any]) -> Answer:
        if self.suspended[name]:
            return Answer(401)
        build = self.builds.get((name, event["pipelineId"]))
        kind = event["type"]
        if kind == "codenow.ci.start.event":
            if build is None:
                self.builds[(name, event["pipelineId"])] = ModelBuild(
                    event["buildVersion"], COMPONENTS[name]
                )
                return Answer(200, "BUILDING", False)
            if build.version != event["buildVersion"]:
                return Answer(409)
            return Answer(200, build.status, True)
        if build is None:
            return Answer(404)
        if kind == "codenow.ci.result.event":
            new = {item["type"] for item in event["payload"]} - build.items
            if not new:
                return Answer(200, build.status, True)
            if build.end is not None:
                return Answer(409)
            build.items |= new
            build.timeline += 1
            return Answer(200, "BUILDING", False)
        if build.end is not None:
            if build.end != event["result"]:
                return Answer(409)
            return Answer(200, build.status, True)
        build.end = event["result"]
        status = END_STATUS[build.end]
        if status == "SUCCESSFUL" and any(not (r & build.items) for r in REQUIRED[build.kind]):
            status = "INCOMPLETE"
        build.status = status
        build.timeline += 1
        return Answer(200, status, False)

    def send(self, name: str, event: dict[str, Any]) -> None:
        self.sent.append((name, event))
        r = self.harness.api.send(event, self.key[name])
        expected = self.expect(name, event)
        note(f"{name} {event['type']} {event['pipelineId']} -> {r.status_code} {r.text}")
        assert r.status_code == expected.status, (expected, r.text)
        if r.status_code == 200:
            body = r.json()
            assert body["buildStatus"] == expected.build_status, (expected, body)
            assert body["duplicate"] is expected.duplicate, (expected, body)
        else:
            assert r.headers["content-type"].startswith("application/problem+json")

    def pipeline(self, name: str, n: int) -> str:
        return f"{name}-{self.tag}-p{n}"

    # ---- rules ------------------------------------------------------------------------

    names = st.sampled_from(sorted(COMPONENTS))
    runs = st.integers(0, PIPELINES - 1)

    @rule(name=names, n=runs, version=st.sampled_from(["1.0.0", "2.0.0"]))
    def start(self, name: str, n: int, version: str) -> None:
        self.send(name, ev.start(self.pipeline(name, n), self.component[name], version=version))

    @rule(
        name=names,
        n=runs,
        items=st.lists(st.sampled_from(sorted(ITEMS)), min_size=1, max_size=3),
    )
    def result(self, name: str, n: int, items: list[str]) -> None:
        self.send(name, ev.result(self.pipeline(name, n), *(ITEMS[i] for i in items)))

    @rule(name=names, n=runs, outcome=st.sampled_from(sorted(END_STATUS)))
    def end(self, name: str, n: int, outcome: str) -> None:
        self.send(name, ev.end(self.pipeline(name, n), outcome))

    @precondition(lambda self: self.sent)
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        name, event = data.draw(st.sampled_from(self.sent))
        self.send(name, event)

    @precondition(lambda self: any(e["type"] != "codenow.ci.result.event" for _, e in self.sent))
    @rule(data=st.data())
    def conflicting_replay(self, data: st.DataObject) -> None:
        """An earlier start with another buildVersion, or an earlier end with another
        result: 409 once the first one was stored."""
        candidates = [(n, e) for n, e in self.sent if e["type"] != "codenow.ci.result.event"]
        name, event = data.draw(st.sampled_from(candidates))
        if event["type"] == "codenow.ci.start.event":
            other = "2.0.0" if event["buildVersion"] == "1.0.0" else "1.0.0"
            changed = event | {"buildVersion": other}
        else:
            choices = sorted(set(END_STATUS) - {event["result"]})
            changed = event | {"result": data.draw(st.sampled_from(choices))}
        self.send(name, changed)

    @rule(name=names)
    def suspend(self, name: str) -> None:
        self._key_action(name, "suspend")
        self.suspended[name] = True

    @rule(name=names)
    def resume(self, name: str) -> None:
        self._key_action(name, "resume")
        self.suspended[name] = False

    def _key_action(self, name: str, action: str) -> None:
        r = self.harness.api.client.post(
            f"/api/v1/components/{self.component[name]}/ci-keys/{self.key_id[name]}/{action}",
            headers=self.harness.admin,
        )
        assert r.status_code == 200, r.text

    @precondition(lambda self: self.deactivation_supported is not False)
    @rule()
    def deactivate_creator(self) -> None:
        """The user who created both keys is deactivated; the keys keep working (the
        contracts end the user's tokens and sessions, and say nothing of CI keys)."""
        r = self.harness.api.client.patch(
            f"/api/v1/users/{self.creator}", json={"active": False}, headers=self.harness.admin
        )
        if r.status_code in (400, 404, 422):  # no user deactivation on this branch yet
            note(f"user deactivation not supported here: {r.status_code}")
            self.deactivation_supported = False
            return
        assert r.status_code == 200, r.text
        assert r.json()["active"] is False
        self.deactivation_supported = True

    @rule()
    def restart(self) -> None:
        self.harness.restart()

    # ---- the database, read directly --------------------------------------------------

    @invariant()
    def database_matches_model(self) -> None:
        with self.harness.api.runtime.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT b.component_id, b.pipeline_id, b.build_version, b.status,"
                    " b.end_result,"
                    " (SELECT count(*) FROM build_results r WHERE r.build_id = b.id),"
                    " (SELECT count(*) FROM build_events e WHERE e.build_id = b.id)"
                    " FROM builds b WHERE b.component_id IN (:a, :l)"
                ),
                {"a": self.component["app"], "l": self.component["lib"]},
            ).all()
        by_component = {v: k for k, v in self.component.items()}
        stored = {(by_component[r[0]], r[1]): tuple(r[2:]) for r in rows}
        assert len(stored) == len(rows), "a pipelineId stored twice in one component"
        expected = {
            (name, pid): (b.version, b.status, b.end, len(b.items), b.timeline)
            for (name, pid), b in self.builds.items()
        }
        assert stored == expected

    def teardown(self) -> None:
        note(f"user deactivation supported: {self.deactivation_supported}")


@pytest.mark.slow
def test_lifecycle_matches_the_contract_model(settings: Settings) -> None:
    harness = Harness(settings.model_copy(update={"rate_limit_per_minute": 10**8}))
    Lifecycle.harness = harness
    try:
        run_state_machine_as_test(Lifecycle, settings=BOUNDS)
    finally:
        harness.close()


# Bounded so that both databases together take well under two minutes on 2 cores.
BOUNDS = hypothesis_settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
