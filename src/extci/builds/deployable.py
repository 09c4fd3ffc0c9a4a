""" "What can I deploy?": the newest SUCCESSFUL build of a component and its deployment
coordinates (container images, Helm charts, git revision and tag, packages).

SUCCESSFUL is the spec's deployable status: the end event said SUCCESSFUL and every result
the component's kind requires was there (an INCOMPLETE build is never offered)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from extci.builds import repository
from extci.builds.models import BuildResult
from extci.builds.result_types import Need, meeting
from extci.builds.service import BuildView, view
from extci.builds.state import AsOf, BuildStatus
from extci.components import service as components
from extci.errors import FieldError, NotFound, ValidationFailed
from extci.validation import search_text

PACKAGE_TYPES = meeting(Need.PACKAGE)
COORDINATE_TYPES = meeting(Need.CONTAINER, Need.HELM, Need.GIT, Need.PACKAGE)
# A build holds up to 1,000 results; its coordinates are the first of these in arrival order.
MAX_COORDINATES = 200
# Schemes a registry URL may carry that an image reference never does.
_REGISTRY_SCHEMES = ("https://", "http://", "oci://", "docker://")


@dataclass(frozen=True)
class Image:
    """A container image as ``docker pull`` names it: ``repository:tag[@digest]``."""

    repository: str
    tag: str
    digest: str | None

    @property
    def reference(self) -> str:
        ref = f"{self.repository}:{self.tag}"
        return f"{ref}@{self.digest}" if self.digest else ref


@dataclass(frozen=True)
class Chart:
    repository: str  # as the CI sent it: https://charts.example.org or oci://registry/charts
    name: str
    version: str
    digest: str | None

    @property
    def reference(self) -> str | None:
        """``oci://registry/path/name`` for an OCI registry (what ``helm upgrade`` takes);
        a classic chart repository is added with ``helm repo add`` and named by ``name``."""
        if not self.repository.lower().startswith("oci://"):
            return None
        return f"{self.repository.rstrip('/')}/{self.name}"


@dataclass(frozen=True)
class Package:
    type: str  # a result type that meets Need.PACKAGE: maven, npm, nuget
    repository: str
    name: str
    version: str


@dataclass(frozen=True)
class GitCoordinates:
    repository_url: str | None
    branch: str | None
    commit_sha: str | None
    tag: str | None


@dataclass(frozen=True)
class Deployable:
    view: BuildView
    kind: str
    git: GitCoordinates
    images: list[Image]
    charts: list[Chart]
    packages: list[Package]


@dataclass(frozen=True)
class Query:
    """Which build: on ``branch`` (any when None), with ``version`` exact, or as a prefix
    when it ends with '.' (``1.4.`` matches 1.4.0 and 1.4.12, not 1.40.0)."""

    branch: str | None = None
    version: str | None = None

    @property
    def version_prefix(self) -> bool:
        return self.version is not None and self.version.endswith(".")

    def describe(self) -> str:
        parts = []
        if self.branch is not None:
            parts.append(f"on branch {self.branch!r}")
        if self.version is not None and self.version_prefix:
            parts.append(f"with a version starting {self.version!r}")
        elif self.version is not None:
            parts.append(f"with version {self.version!r}")
        return " ".join(parts)


def image_of(fields: dict[str, str]) -> Image:
    """``registry.example.org/team`` + ``orders-service`` + ``1.4.0`` →
    ``registry.example.org/team/orders-service:1.4.0`` (a scheme on the registry URL is
    dropped; a path that already starts with the registry is not prefixed twice)."""
    registry = fields["repositoryUrl"]
    for scheme in _REGISTRY_SCHEMES:
        if registry.lower().startswith(scheme):
            registry = registry[len(scheme) :]
            break
    registry = registry.rstrip("/")
    path = fields["artifactPath"].strip("/")
    repository = path if not registry or path.startswith(registry + "/") else f"{registry}/{path}"
    return Image(repository, fields["artifactVersion"], fields.get("digest"))


def chart_of(fields: dict[str, str]) -> Chart:
    return Chart(
        fields["repositoryUrl"],
        fields["artifactPath"].strip("/"),
        fields["artifactVersion"],
        fields.get("digest"),
    )


def package_of(kind: str, fields: dict[str, str]) -> Package:
    return Package(kind, fields["repositoryUrl"], fields["artifactPath"], fields["artifactVersion"])


def coordinates(view_: BuildView, kind: str, results: list[BuildResult]) -> Deployable:
    """Pure: the deployment coordinates of a build from its results, in arrival order."""
    b = view_.build
    revision = next((r.fields for r in results if r.type == "git-revision"), None)
    tag = next((r.fields["tag"] for r in results if r.type == "git-tag"), None)
    git = GitCoordinates(
        revision["repositoryUrl"] if revision else None,
        revision["branch"] if revision else b.branch,
        revision["commitSha"] if revision else b.commit_sha,
        tag,
    )
    return Deployable(
        view_,
        kind,
        git,
        [image_of(r.fields) for r in results if r.type == "container"],
        [chart_of(r.fields) for r in results if r.type == "helm"],
        [package_of(r.type, r.fields) for r in results if r.type in PACKAGE_TYPES],
    )


def _check(query: Query) -> None:
    search_text(query.branch, "/branch")
    search_text(query.version, "/version")
    for pointer, value in (("/branch", query.branch), ("/version", query.version)):
        if value is not None and not value.strip():
            raise ValidationFailed(
                f"{pointer[1:]} is empty.", errors=[FieldError(pointer, "must not be empty")]
            )


def newest(
    session: Session,
    component_id: str,
    query: Query,
    *,
    as_of: AsOf,
) -> Deployable:
    """The newest deployable build matching ``query``, or NotFound saying what was asked."""
    component = components.get(session, component_id)
    _check(query)
    build = repository.newest_deployable(session, component_id, query)
    if build is None:
        asked = query.describe()
        raise NotFound(
            f"Component {component_id!r} has no deployable build"
            + (f" {asked}" if asked else "")
            + f": none is {BuildStatus.SUCCESSFUL} ({BuildStatus.INCOMPLETE} builds miss a "
            "required result and are not deployable)."
        )
    rows = repository.results_of_types(session, build.id, COORDINATE_TYPES, limit=MAX_COORDINATES)
    return coordinates(view(build, as_of), component.kind, rows)
