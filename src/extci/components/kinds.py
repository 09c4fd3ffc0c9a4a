"""A component's kind and CI mode (management.md §1). Standard library only, Python 3.9: the
CLI imports it to build its ``choices`` without loading the server, and the reporter zipapp
carries it with the registry of result types that names it."""

from __future__ import annotations

from extci.enums import StrEnum


class ComponentKind(StrEnum):
    APPLICATION_COMPONENT = "application-component"  # deployable: an image and a chart
    LIBRARY = "library"  # a package others build on


class CiMode(StrEnum):
    EXTERNAL = "external"  # builds come from CI events
    PLATFORM = "platform"  # the platform's own Release and Preview builds
