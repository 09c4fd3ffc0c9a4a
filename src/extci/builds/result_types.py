"""The registry of result types: every type a CI can report, each declared once.

An entry says what the wire item holds (its fields), what people call it (its label), how
the build page shows it (a macro of ``web/templates/_results.html``, or the default
rendering), and which need of a component kind it meets for a build to be complete, so
deployable (docs/webhook.md, "Deployability").

Everything else is derived from ``TYPES``: the webhook's item models and the union they form
(``ingest/events.py``), the completeness rule (``builds/state.py``), the coordinates of
``deployable`` and of the webhooks' CDEvents, the build page and the component page's hint,
the OpenAPI document, the tables in docs/webhook.md (``tests/docs``), and the reporter's
result items (``reporter/items.py``).

Standard library only, and Python 3.9 syntax and library: the served reporter zipapp carries
this module and the component kinds (``extci.downloads.bundle.SHARED``), and runs on 3.9.
"""

from __future__ import annotations

from dataclasses import dataclass

from extci.components.kinds import ComponentKind
from extci.enums import StrEnum


class Value(StrEnum):
    """How a field's value is checked on the wire (``ingest/events.py``)."""

    TEXT = "text"  # a string, 1 to max_string_length characters
    LOCATION = "location"  # a URL, scp-like git location or registry path
    WEB_URL = "web-url"  # an absolute http(s) URL, which the UI renders as a link
    DIGEST = "digest"  # sha256: and 64 lower-case hex digits


@dataclass(frozen=True)
class ResultField:
    wire: str  # the field's name in the JSON item (camelCase)
    value: Value = Value.TEXT
    required: bool = True


class Need(StrEnum):
    """What a component kind needs its builds to report; any type that meets it will do."""

    CONTAINER = "container"
    HELM = "helm"
    GIT = "git"
    PACKAGE = "package"


@dataclass(frozen=True)
class ResultType:
    name: str  # the item's ``type`` on the wire
    label: str  # what people call it
    fields: tuple[ResultField, ...]
    meets: Need | None = None  # the need it counts towards, if any
    macro: str | None = None  # its macro in web/templates/_results.html; None: the default

    @property
    def model_name(self) -> str:
        """Its pydantic model's name, as the OpenAPI document names it: ``GitRevision``."""
        return "".join(part.capitalize() for part in self.name.split("-"))


ARTIFACT = (
    ResultField("repositoryUrl", Value.LOCATION),
    ResultField("artifactPath"),
    ResultField("artifactVersion"),
)
DIGEST = ResultField("digest", Value.DIGEST, required=False)

TYPES: tuple[ResultType, ...] = (
    ResultType(
        "git-revision",
        "Git revision",
        (
            ResultField("repositoryUrl", Value.LOCATION),
            ResultField("branch"),
            ResultField("commitSha"),
        ),
        meets=Need.GIT,
        macro="git_revision",
    ),
    ResultType("git-tag", "Git tag", (ResultField("tag"),), meets=Need.GIT, macro="git_tag"),
    ResultType(
        "code-quality",
        "Code quality report",
        (ResultField("system"), ResultField("url", Value.WEB_URL)),
        macro="code_quality",
    ),
    ResultType("container", "Container image", (*ARTIFACT, DIGEST), Need.CONTAINER, "artifact"),
    ResultType("helm", "Helm chart", (*ARTIFACT, DIGEST), Need.HELM, "artifact"),
    ResultType("maven", "Maven package", ARTIFACT, Need.PACKAGE, "artifact"),
    ResultType("npm", "npm package", ARTIFACT, Need.PACKAGE, "artifact"),
    ResultType("nuget", "NuGet package", ARTIFACT, Need.PACKAGE, "artifact"),
    ResultType(
        "link", "Link", (ResultField("name"), ResultField("url", Value.WEB_URL)), macro="link"
    ),
)
BY_NAME = {t.name: t for t in TYPES}
NAMES = tuple(BY_NAME)

# What each kind needs, in the order the API and the build page list the requirements.
NEEDS: dict[str, tuple[Need, ...]] = {
    ComponentKind.APPLICATION_COMPONENT: (Need.CONTAINER, Need.HELM, Need.GIT),
    ComponentKind.LIBRARY: (Need.GIT, Need.PACKAGE),
}


def meeting(*needs: Need) -> tuple[str, ...]:
    """The types that meet any of ``needs``, in registry order."""
    return tuple(t.name for t in TYPES if t.meets in needs)
