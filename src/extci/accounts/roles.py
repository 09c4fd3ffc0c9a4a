"""The roles a user can have, each allowed everything the ones before it are. Pure: the CLI
imports it to build its ``choices`` without loading the server."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"

    def at_least(self, needed: Role) -> bool:
        ranks = list(Role)
        return ranks.index(self) >= ranks.index(needed)
