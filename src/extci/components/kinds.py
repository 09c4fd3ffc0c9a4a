"""A component's kind and CI mode (management.md §1). Pure: the CLI imports it to build
its ``choices`` without loading the server."""

from __future__ import annotations

from enum import StrEnum


class ComponentKind(StrEnum):
    APPLICATION_COMPONENT = "application-component"  # deployable: an image and a chart
    LIBRARY = "library"  # a package others build on


class CiMode(StrEnum):
    EXTERNAL = "external"  # builds come from CI events
    PLATFORM = "platform"  # the platform's own Release and Preview builds
