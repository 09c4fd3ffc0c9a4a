"""What a delivery sends: extci's own JSON, or a CDEvent in a CloudEvent.

Rendered when it is sent, from the build as stored: a delivery row is small (the hot path
writes it), and what a message describes does not change once it is due — a start
describes only the start event's fields, and an ended build takes no more results.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from cloudevents.core.bindings import http as ce_http
from cloudevents.core.v1.event import CloudEvent

from extci.builds.result_types import Need, meeting
from extci.builds.state import BuildStatus
from extci.webhooks.models import Message, WebhookFormat

CDEVENTS_VERSION = "0.4.1"
CDEVENT_TYPES = {
    Message.BUILD_STARTED: "dev.cdevents.build.started.0.2.0",
    Message.BUILD_FINISHED: "dev.cdevents.build.finished.0.2.0",
    Message.ARTIFACT_PACKAGED: "dev.cdevents.artifact.packaged.0.2.0",
    Message.ARTIFACT_PUBLISHED: "dev.cdevents.artifact.published.0.2.0",
}
ARTIFACT_TYPES = meeting(Need.CONTAINER, Need.HELM, Need.PACKAGE)
# What a finished build is known by: its image, else its first package (see main_artifact).
MAIN_ARTIFACT_TYPES = meeting(Need.CONTAINER, Need.PACKAGE)


@dataclass(frozen=True)
class BuildView:
    """The build as a message describes it (a row of builds, plus its results)."""

    component_id: str
    pipeline_id: str
    build_version: str
    status: str
    end_result: str | None
    started_at: datetime
    ended_at: datetime | None
    branch: str | None
    commit_sha: str | None
    dashboard_url: str | None
    results: Sequence[tuple[int, str, dict[str, str]]]  # (result id, type, fields)


@dataclass(frozen=True)
class Notice:
    """What one outbox row tells its subscriber: the message (build.started, …), its id (the
    webhook-id), when it happened, the build, and for an artifact message the result it is
    about; links point under ``base_url``."""

    message: str
    message_id: str
    occurred_at: datetime
    build: BuildView
    base_url: str
    result_id: int | None


@dataclass(frozen=True)
class Outgoing:
    headers: dict[str, str]
    body: bytes


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def build_url(base_url: str, build: BuildView) -> str:
    return f"{base_url}/components/{build.component_id}/builds/{quote(build.pipeline_id, safe='')}"


# ---- extci's own format ------------------------------------------------------------


def standard(message: str, occurred_at: datetime, build: BuildView, base_url: str) -> Outgoing:
    data: dict[str, Any] = {
        "componentId": build.component_id,
        "pipelineId": build.pipeline_id,
        "buildVersion": build.build_version,
        "url": build_url(base_url, build),
        "dashboardUrl": build.dashboard_url,
        "startedAt": _iso(build.started_at),
    }
    if message == Message.BUILD_STARTED:
        data["status"] = BuildStatus.BUILDING
    else:
        data.update(
            status=build.status,
            endResult=build.end_result,
            endedAt=_iso(build.ended_at),
            branch=build.branch,
            commitSha=build.commit_sha,
            results=[{"type": t, **f} for _, t, f in build.results],
        )
    body = {"type": message, "timestamp": _iso(occurred_at), "data": data}
    return Outgoing({"content-type": "application/json"}, _json(body))


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


# ---- package URLs ------------------------------------------------------------------


def _bare(repository_url: str) -> str:
    """A registry URL without its scheme: ``https://registry.example.org/`` → host/path."""
    parts = urlsplit(repository_url if "://" in repository_url else f"//{repository_url}")
    return (parts.netloc + parts.path).strip("/")


def _q(value: str) -> str:
    return quote(value, safe="/:")


def purl(kind: str, fields: dict[str, str]) -> str:
    """The package URL (purl) of an artifact result."""
    repository = fields.get("repositoryUrl", "")
    path = fields.get("artifactPath", "").strip("/")
    version = fields.get("artifactVersion", "")
    if kind in ("container", "helm"):
        name = path.rsplit("/", 1)[-1].lower()
        location = "/".join(p for p in (_bare(repository), path) if p)
        qualifiers = f"repository_url={_q(location)}&tag={_q(version)}"
        digest = fields.get("digest")
        if digest:
            return f"pkg:oci/{_q(name)}@{digest}?{qualifiers}"
        if kind == "container":
            return f"pkg:oci/{_q(name)}?{qualifiers}"
        return f"pkg:generic/{_q(name)}@{_q(version)}?repository_url={_q(_bare(repository))}"
    if kind == "maven":
        if ":" in path:
            group, _, artifact = path.partition(":")
        else:
            group, _, artifact = path.rpartition("/")
            group = group.replace("/", ".")
        namespace = f"{_q(group)}/" if group else ""
        return f"pkg:maven/{namespace}{_q(artifact)}@{_q(version)}?repository_url={_q(repository)}"
    if kind == "npm":
        scope, _, name = path.rpartition("/")
        namespace = f"{quote(scope, safe='')}/" if scope else ""
        return f"pkg:npm/{namespace}{_q(name)}@{_q(version)}?repository_url={_q(repository)}"
    if kind not in ARTIFACT_TYPES:
        raise ValueError(f"not an artifact result: {kind}")
    # nuget, and any other package type: the purl type is the result type's name.
    return f"pkg:{kind}/{_q(path)}@{_q(version)}?repository_url={_q(repository)}"


def main_artifact(build: BuildView) -> str | None:
    """The artifact a finished build is known by: its image, else its package."""
    for wanted in MAIN_ARTIFACT_TYPES:
        for _, kind, fields in build.results:
            if kind == wanted:
                return purl(kind, fields)
    return None


# ---- CDEvents ------------------------------------------------------------------------


def cdevent(notice: Notice) -> dict[str, Any]:
    """The CDEvent (spec 0.4.1) for one outbox row."""
    message, build, base_url = notice.message, notice.build, notice.base_url
    source = f"{base_url}/components/{build.component_id}"
    context = {
        "version": CDEVENTS_VERSION,
        "id": notice.message_id,
        "source": source,
        "type": CDEVENT_TYPES[Message(message)],
        "timestamp": _iso(notice.occurred_at),
    }
    custom = {
        "componentId": build.component_id,
        "pipelineId": build.pipeline_id,
        "buildVersion": build.build_version,
        "url": build_url(base_url, build),
    }
    if message == Message.BUILD_STARTED:
        subject: dict[str, Any] = {"type": "build", "content": {}}
    elif message == Message.BUILD_FINISHED:
        custom["status"] = build.status
        content: dict[str, Any] = {}
        artifact = main_artifact(build) if build.status == BuildStatus.SUCCESSFUL else None
        if artifact:
            content["artifactId"] = artifact
        subject = {"type": "build", "content": content}
    else:
        kind, fields = next((t, f) for i, t, f in build.results if i == notice.result_id)
        custom["resultType"] = kind
        subject = {"id": purl(kind, fields), "source": source, "type": "artifact"}
        if message == Message.ARTIFACT_PACKAGED:
            change = build.commit_sha or _tag(build) or build.pipeline_id
            subject["content"] = {"change": {"id": change}}
        else:
            subject["content"] = {}
        return {
            "context": context,
            "subject": subject,
            "customData": custom,
            "customDataContentType": "application/json",
        }
    subject = {"id": f"{build.component_id}/{build.pipeline_id}", "source": source, **subject}
    return {
        "context": context,
        "subject": subject,
        "customData": custom,
        "customDataContentType": "application/json",
    }


def _tag(build: BuildView) -> str | None:
    return next((f["tag"] for _, t, f in build.results if t == "git-tag"), None)


def cloudevent(event: dict[str, Any], fmt: str) -> Outgoing:
    """The CDEvent as a CloudEvents 1.0 HTTP message (binary or structured mode)."""
    context = event["context"]
    attributes = {
        "specversion": "1.0",
        "id": context["id"],
        "source": context["source"],
        "type": context["type"],
        "time": datetime.fromisoformat(context["timestamp"].replace("Z", "+00:00")),
        "datacontenttype": "application/json",
    }
    ce = CloudEvent(attributes=attributes, data=event)
    if fmt == WebhookFormat.CDEVENTS_STRUCTURED:
        message = ce_http.to_structured_event(ce)
    else:
        message = ce_http.to_binary_event(ce)
    return Outgoing({k.lower(): v for k, v in message.headers.items()}, message.body)


def render(fmt: str, notice: Notice) -> Outgoing:
    if fmt == WebhookFormat.STANDARD:
        return standard(notice.message, notice.occurred_at, notice.build, notice.base_url)
    return cloudevent(cdevent(notice), fmt)
