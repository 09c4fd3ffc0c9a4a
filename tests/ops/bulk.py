"""Builds in bulk, straight into the tables with Core (thousands a second), for tests that
need a big or an old history."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select

from extci.builds.models import Build, BuildEvent, BuildResult, branch_key


def build_row(
    component_id: str,
    pipeline_id: str,
    *,
    status: str = "SUCCESSFUL",
    branch: str | None = "main",
    at: datetime,
) -> dict[str, Any]:
    return {
        "pipeline_id": pipeline_id,
        "component_id": component_id,
        "build_version": f"1.0.{pipeline_id}",
        "pipeline_name": "build",
        "start_fingerprint": hashlib.sha256(pipeline_id.encode()).hexdigest(),
        "status": status,
        "end_result": None if status == "BUILDING" else "SUCCESSFUL",
        "branch": branch,
        "branch_key": branch_key(branch) if branch is not None else None,
        "commit_sha": "9f2c1e7a5b",
        "result_count": 1,
        "result_types": ["git-revision"],
        "started_at": at,
        "ended_at": None if status == "BUILDING" else at,
        "last_event_at": at,
    }


def insert_builds(
    engine: Engine, rows: Sequence[dict[str, Any]], *, children: bool = True
) -> list[int]:
    """Insert the builds (with a result and a timeline entry each); their ids in order."""
    with engine.begin() as conn:
        conn.execute(insert(Build), list(rows))
        ids = [
            row.id
            for row in conn.execute(
                select(Build.id)
                .where(Build.pipeline_id.in_([r["pipeline_id"] for r in rows]))
                .order_by(Build.id)
            )
        ]
        if children:
            conn.execute(
                insert(BuildResult),
                [
                    {
                        "build_id": build_id,
                        "type": "git-revision",
                        "fingerprint": hashlib.sha256(str(build_id).encode()).hexdigest(),
                        "fields": {"branch": row["branch"], "commitSha": "9f2c1e7a5b"},
                        "received_at": row["started_at"],
                    }
                    for build_id, row in zip(ids, rows, strict=True)
                ],
            )
            conn.execute(
                insert(BuildEvent),
                [
                    {
                        "build_id": build_id,
                        "type": "codenow.ci.start.event",
                        "created_at": row["started_at"],
                        "received_at": row["started_at"],
                        "summary": "started",
                    }
                    for build_id, row in zip(ids, rows, strict=True)
                ],
            )
    return ids
