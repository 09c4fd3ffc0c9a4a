"""``extci builds deployable``'s output formats, from the JSON document the API answers
(``GET /api/v1/components/{id}/deployable``): so a command that asks a remote server and
one that reads the database directly print the same thing. Standard library only.

- ``json``: the document itself;
- ``env``: ``EXTCI_IMAGE=…`` lines, shell-quoted, for ``eval "$(extci builds deployable …)"``;
  every variable is always printed (empty when the build has no such coordinate), so a
  script under ``set -u`` can test it;
- ``helm-values``: ``image.repository``, ``image.tag`` and ``image.digest`` as a YAML
  values snippet for ``helm upgrade -f -``.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from typing import Any

FORMATS = ("json", "env", "helm-values")


class NoImage(ValueError):
    """helm-values asked of a build that reported no container image."""


def _first(document: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = document.get(key)
    return value if isinstance(value, Mapping) else {}


def env_pairs(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    image, chart, git = (_first(document, k) for k in ("image", "chart", "git"))
    packages = document.get("packages") or []
    package: Mapping[str, Any] = packages[0] if packages else {}
    values = [
        ("EXTCI_COMPONENT", document.get("componentId")),
        ("EXTCI_PIPELINE_ID", document.get("pipelineId")),
        ("EXTCI_VERSION", document.get("buildVersion")),
        ("EXTCI_GIT_REPOSITORY", git.get("repositoryUrl")),
        ("EXTCI_GIT_BRANCH", git.get("branch")),
        ("EXTCI_GIT_COMMIT", git.get("commitSha")),
        ("EXTCI_GIT_TAG", git.get("tag")),
        ("EXTCI_IMAGE", image.get("reference")),
        ("EXTCI_IMAGE_REPOSITORY", image.get("repository")),
        ("EXTCI_IMAGE_TAG", image.get("tag")),
        ("EXTCI_IMAGE_DIGEST", image.get("digest")),
        ("EXTCI_CHART_REPOSITORY", chart.get("repository")),
        ("EXTCI_CHART_NAME", chart.get("name")),
        ("EXTCI_CHART_VERSION", chart.get("version")),
        ("EXTCI_CHART_DIGEST", chart.get("digest")),
        ("EXTCI_CHART_REFERENCE", chart.get("reference")),
        ("EXTCI_PACKAGE_TYPE", package.get("type")),
        ("EXTCI_PACKAGE_REPOSITORY", package.get("repository")),
        ("EXTCI_PACKAGE_NAME", package.get("name")),
        ("EXTCI_PACKAGE_VERSION", package.get("version")),
    ]
    return [(name, "" if value is None else str(value)) for name, value in values]


def as_env(document: Mapping[str, Any]) -> str:
    return "".join(f"{name}={shlex.quote(value)}\n" for name, value in env_pairs(document))


def as_helm_values(document: Mapping[str, Any]) -> str:
    image = _first(document, "image")
    if not image:
        raise NoImage(
            f"build {document.get('pipelineId')} of {document.get('componentId')} reported no "
            "container image: there are no image values to print"
        )
    # Every scalar as a JSON string, which YAML reads as the same string (a tag such as
    # 1.10 would otherwise be read as the number 1.1).
    lines = [
        f"# {document.get('componentId')} {document.get('buildVersion')} "
        f"(pipeline {document.get('pipelineId')}), from extci",
        "image:",
        f"  repository: {json.dumps(image.get('repository') or '')}",
        f"  tag: {json.dumps(image.get('tag') or '')}",
        f"  digest: {json.dumps(image.get('digest') or '')}",
    ]
    return "".join(line.replace("\r", " ").replace("\n", " ") + "\n" for line in lines)


def render(document: Mapping[str, Any], fmt: str) -> str:
    if fmt == "env":
        return as_env(document)
    if fmt == "helm-values":
        return as_helm_values(document)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
