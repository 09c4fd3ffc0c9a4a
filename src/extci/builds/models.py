from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from extci.builds.state import END_RESULTS, STORED_STATUSES, BuildStatus
from extci.constraints import one_of
from extci.db import Base, UTCDateTime

# The deployable index's condition; the query repeats it verbatim (see Build).
DEPLOYABLE_CONDITION = f"status = '{BuildStatus.SUCCESSFUL}'"

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key.
BigId = BigInteger().with_variant(Integer, "sqlite")


class Build(Base):
    """One pipeline run of one component. ``status`` is what the events decided; LOST is
    derived at read time from ``last_event_at`` so that no sweeper process is needed."""

    __tablename__ = "builds"
    __table_args__ = (
        CheckConstraint(one_of("status", STORED_STATUSES), name="status"),
        CheckConstraint(
            f"end_result IS NULL OR {one_of('end_result', END_RESULTS)}", name="end_result"
        ),
        # pipelineId is unique within its component (docs/webhook.md): the same id in two
        # components is two builds, and one component's key cannot squat another's ids.
        UniqueConstraint("component_id", "pipeline_id"),
        # Every history read is a keyset walk down one of these, newest first, so a page
        # costs the same with a thousand builds as with a million.
        Index("ix_builds_component_id_id", "component_id", "id"),
        Index("ix_builds_component_id_status_id", "component_id", "status", "id"),
        Index("ix_builds_component_id_build_version_id", "component_id", "build_version", "id"),
        Index("ix_builds_component_id_branch_key_id", "component_id", "branch_key", "id"),
        # The deployable query (newest SUCCESSFUL build, optionally on a branch): partial,
        # so only SUCCESSFUL rows pay for it. Queries must spell the condition as this
        # literal (not a bound parameter) for either planner to prove the index applies.
        Index(
            "ix_builds_deployable",
            "component_id",
            "branch_key",
            "id",
            sqlite_where=text(DEPLOYABLE_CONDITION),
            postgresql_where=text(DEPLOYABLE_CONDITION),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    pipeline_id: Mapped[str] = mapped_column(Text)
    component_id: Mapped[str] = mapped_column(ForeignKey("components.id", ondelete="CASCADE"))
    build_version: Mapped[str] = mapped_column(Text)
    pipeline_name: Mapped[str | None] = mapped_column(Text)
    dashboard_url: Mapped[str | None] = mapped_column(Text)
    actor_username: Mapped[str | None] = mapped_column(Text)
    actor_fullname: Mapped[str | None] = mapped_column(Text)
    # SHA-256 of the start event's content (createdAt excluded): a retried start compares it.
    start_fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    end_result: Mapped[str | None] = mapped_column(String(16))
    # Denormalised from the first git-revision result, for the history's branch filter.
    branch: Mapped[str | None] = mapped_column(Text)
    commit_sha: Mapped[str | None] = mapped_column(Text)
    # A fixed-size digest of the branch, indexed: a branch may be 1,024 characters of any
    # script, too long for an index row on PostgreSQL (see branch_key()).
    branch_key: Mapped[str | None] = mapped_column(String(32))
    # Distinct result items stored, kept in step with build_results (the per-build limit).
    result_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    result_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_event_at: Mapped[datetime] = mapped_column(UTCDateTime())


def branch_key(branch: str) -> str:
    """The indexed stand-in for a branch name: the first 128 bits of its SHA-256."""
    return hashlib.sha256(branch.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class BuildResult(Base):
    __tablename__ = "build_results"
    __table_args__ = (UniqueConstraint("build_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    build_id: Mapped[int] = mapped_column(ForeignKey("builds.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))
    # SHA-256 over type and fields: the database refuses the second copy of an item.
    fingerprint: Mapped[str] = mapped_column(String(64))
    fields: Mapped[dict[str, str]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BuildEvent(Base):
    """The timeline: one row per accepted (non-duplicate) event."""

    __tablename__ = "build_events"
    __table_args__ = (Index("ix_build_events_build_id_id", "build_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    build_id: Mapped[int] = mapped_column(ForeignKey("builds.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    summary: Mapped[str | None] = mapped_column(Text)
