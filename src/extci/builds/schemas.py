from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel

from extci.builds.deployable import Deployable
from extci.builds.service import BuildDetail, BuildView, HistoryFilter
from extci.builds.state import BuildStatus
from extci.builds.stats import Health
from extci.schemas import ApiModel, OneOf, SearchQuery

BuildStatusIn = Annotated[str, OneOf(BuildStatus)]


class HistoryParams(BaseModel):
    """``?status=``, ``?branch=`` and ``?version=`` of a component's history (a query
    parameter model: FastAPI lists its fields as query parameters, in this order)."""

    status: BuildStatusIn | None = None
    branch: SearchQuery = None
    version: SearchQuery = None

    def to_filter(self) -> HistoryFilter:
        return HistoryFilter(status=self.status, branch=self.branch, version=self.version)


HistoryQuery = Annotated[HistoryParams, Query()]


class ActorOut(ApiModel):
    username: str
    fullname: str | None


class GitRevisionOut(ApiModel):
    repository_url: str
    branch: str
    commit_sha: str


class BuildCommon(ApiModel):
    """The fields the history's rows and the detail document share."""

    component_id: str
    pipeline_id: str
    build_version: str
    status: str
    pipeline_name: str | None
    dashboard_url: str | None
    actor: ActorOut | None
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: float | None
    last_event_at: datetime
    end_result: str | None

    @staticmethod
    def values(v: BuildView) -> dict[str, Any]:
        b = v.build
        actor = None  # a start event without an actor
        if b.actor_username is not None:
            actor = ActorOut(username=b.actor_username, fullname=b.actor_fullname)
        return {
            "component_id": b.component_id,
            "pipeline_id": b.pipeline_id,
            "build_version": b.build_version,
            "status": v.status,
            "pipeline_name": b.pipeline_name,
            "dashboard_url": b.dashboard_url,
            "actor": actor,
            "started_at": b.started_at,
            "ended_at": b.ended_at,
            "duration_seconds": v.duration_seconds,
            "last_event_at": b.last_event_at,
            "end_result": b.end_result,
        }


class BuildSummary(BuildCommon):
    """A row of the history: also what the list filters and shows at a glance."""

    branch: str | None
    commit_sha: str | None
    result_types: list[str]

    @classmethod
    def of(cls, v: BuildView) -> BuildSummary:
        b = v.build
        return cls(
            **cls.values(v),
            branch=b.branch,
            commit_sha=b.commit_sha,
            result_types=list(b.result_types),
        )


class RequirementOut(ApiModel):
    requirement: str
    satisfied: bool


class EventOut(ApiModel):
    type: str
    created_at: datetime | None
    received_at: datetime
    # What a result event added (its result types, e.g. "container, helm"), else null.
    summary: str | None = None


class BuildDetailOut(BuildCommon):
    """Exactly the document of management.md §2."""

    git_revision: GitRevisionOut | None
    # Each result: {"type", ...its wire fields..., "receivedAt"}; oldest first, a page of
    # them at a time (``?resultsLimit=``, default 200), the next via ``?resultsCursor=``.
    results: list[dict[str, str | datetime]]
    results_next_cursor: str | None
    required_results: list[RequirementOut]
    missing_results: list[str]
    events: list[EventOut]

    @classmethod
    def of_detail(cls, d: BuildDetail) -> BuildDetailOut:
        revision = d.git_revision.fields if d.git_revision else None
        return cls(
            **cls.values(d.view),
            git_revision=GitRevisionOut.model_validate(revision) if revision else None,
            results=[{"type": r.type, **r.fields, "receivedAt": r.received_at} for r in d.results],
            results_next_cursor=d.results_next_cursor,
            required_results=[
                RequirementOut(requirement=label, satisfied=ok) for label, ok in d.required
            ],
            missing_results=d.missing,
            events=[EventOut.model_validate(e) for e in d.events],
        )


# ---- the deployable query and build health (docs/delivery.md) -------------------------


class ImageOut(ApiModel):
    repository: str
    tag: str
    digest: str | None
    reference: str  # repository:tag, and @sha256:… when a digest was sent


class ChartOut(ApiModel):
    repository: str
    name: str
    version: str
    digest: str | None
    reference: str | None  # oci://…/name for an OCI registry, else null


class PackageOut(ApiModel):
    type: str
    repository: str
    name: str
    version: str


class GitOut(ApiModel):
    repository_url: str | None
    branch: str | None
    commit_sha: str | None
    tag: str | None


class DeployableOut(ApiModel):
    """The newest deployable (SUCCESSFUL) build and its deployment coordinates. ``image``
    and ``chart`` are the first container and Helm chart the build reported (``images``
    and ``charts`` list all of them, in the order they arrived)."""

    component_id: str
    kind: str
    pipeline_id: str
    build_version: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    dashboard_url: str | None
    git: GitOut
    image: ImageOut | None
    images: list[ImageOut]
    chart: ChartOut | None
    charts: list[ChartOut]
    packages: list[PackageOut]

    @classmethod
    def of(cls, d: Deployable) -> DeployableOut:
        b = d.view.build
        images = [ImageOut.model_validate(i) for i in d.images]
        charts = [ChartOut.model_validate(c) for c in d.charts]
        return cls(
            component_id=b.component_id,
            kind=d.kind,
            pipeline_id=b.pipeline_id,
            build_version=b.build_version,
            status=d.view.status,
            started_at=b.started_at,
            ended_at=b.ended_at,
            dashboard_url=b.dashboard_url,
            git=GitOut.model_validate(d.git),
            image=images[0] if images else None,
            images=images,
            chart=charts[0] if charts else None,
            charts=charts,
            packages=[PackageOut.model_validate(p) for p in d.packages],
        )


class StatsBuildOut(ApiModel):
    pipeline_id: str
    build_version: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: float | None


class StatsWindowOut(ApiModel):
    days: int
    builds: int
    successful: int
    failed: int
    cancelled: int
    success_rate: float | None
    median_duration_seconds: float | None
    truncated: bool


class RecoveryOut(ApiModel):
    days: int
    count: int
    median_seconds: float | None
    last_seconds: float | None
    failing_since: datetime | None


class StatsOut(ApiModel):
    """Build health (docs/delivery.md defines each figure): ``recent`` is the newest 50
    builds, oldest first; the windows count builds started in the last 7 and 30 days."""

    component_id: str
    generated_at: datetime
    recent: list[StatsBuildOut]
    windows: list[StatsWindowOut]
    recovery: RecoveryOut
    sample_size: int

    @classmethod
    def of(cls, h: Health) -> StatsOut:
        return cls(
            component_id=h.component_id,
            generated_at=h.generated_at,
            recent=[StatsBuildOut.model_validate(p) for p in h.recent],
            windows=[StatsWindowOut.model_validate(w) for w in h.windows],
            recovery=RecoveryOut.model_validate(h.recovery),
            sample_size=h.sample_size,
        )
