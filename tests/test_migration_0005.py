"""Migration 0005 on a database that already holds builds: nothing is lost (SQLite's batch
mode copies the builds table; its children must survive), the new columns are filled in,
and pipelineIds become unique per component."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import Engine, text

from extci import migrate
from extci.builds.models import branch_key

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC).replace(tzinfo=None)


def test_builds_results_and_events_survive_and_are_counted(engine_at_0004: Engine) -> None:
    engine = engine_at_0004
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO components (id, name, kind, ci_mode, created_at, updated_at) "
                "VALUES ('comp', 'comp', 'application-component', 'external', :t, :t), "
                "('other', 'other', 'library', 'external', :t, :t)"
            ),
            {"t": NOW},
        )
        for pipeline, branch in (("p1", "main"), ("p2", None)):
            conn.execute(
                text(
                    "INSERT INTO builds (pipeline_id, component_id, build_version, "
                    "start_fingerprint, status, branch, result_types, started_at, "
                    "last_event_at) VALUES (:p, 'comp', '1.0', 'f', 'BUILDING', :b, :rt, :t, :t)"
                ),
                {"p": pipeline, "b": branch, "rt": json.dumps([]), "t": NOW},
            )
        build_id = conn.execute(text("SELECT id FROM builds WHERE pipeline_id = 'p1'")).scalar()
        for n in range(3):
            conn.execute(
                text(
                    "INSERT INTO build_results (build_id, type, fingerprint, fields, received_at)"
                    " VALUES (:b, 'link', :f, :fields, :t)"
                ),
                {"b": build_id, "f": f"fp{n}", "fields": json.dumps({"n": str(n)}), "t": NOW},
            )
        conn.execute(
            text(
                "INSERT INTO build_events (build_id, type, created_at, received_at) "
                "VALUES (:b, 'codenow.ci.start.event', :t, :t)"
            ),
            {"b": build_id, "t": NOW},
        )

    migrate.upgrade(engine)

    with engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM build_results")).scalar() == 3
        assert conn.execute(text("SELECT count(*) FROM build_events")).scalar() == 1
        rows = conn.execute(
            text("SELECT pipeline_id, result_count, branch_key FROM builds ORDER BY pipeline_id")
        ).all()
        assert [tuple(r) for r in rows] == [("p1", 3, branch_key("main")), ("p2", 0, None)]
        # The same pipelineId in another component is now a build of its own.
        conn.execute(
            text(
                "INSERT INTO builds (pipeline_id, component_id, build_version, "
                "start_fingerprint, status, result_types, result_count, started_at, "
                "last_event_at) VALUES ('p1', 'other', '1.0', 'f', 'BUILDING', '[]', 0, :t, :t)"
            ),
            {"t": NOW},
        )
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
