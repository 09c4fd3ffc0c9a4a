"""The deployable query is answered by an index walk, newest first, with no sort: the cost
does not grow with the history (bench/ measures it at 1,000 and 1,000,000 builds)."""

from __future__ import annotations

import pytest

from extci.builds import repository
from extci.builds.deployable import Query
from tests.support.api import Api

CASES: list[tuple[Query, str]] = [
    (Query(), "ix_builds_component_id_status_id"),
    (Query(branch="main"), "ix_builds_deployable"),
    (Query(branch="main", version="1.4."), "ix_builds_deployable"),
    (Query(version="1.4.0"), "ix_builds_component_id_build_version_id"),
]


@pytest.mark.parametrize(("query", "index"), CASES)
def test_the_query_plan_walks_an_index_without_sorting(api: Api, query: Query, index: str) -> None:
    engine = api.runtime.engine
    stmt = repository.deployable_query("orders-service", query)
    sql = str(stmt.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
            assert plan == [plan[0]], plan  # one step: no temporary B-tree for the ORDER BY
            assert plan[0].startswith(f"SEARCH builds USING INDEX {index} ("), plan
        else:
            # An empty table: a sequential scan would win on cost, so it is switched off to
            # ask whether the index can answer the query at all (at scale the planner
            # weighs it by its statistics: docs/delivery.md, "What it costs").
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = [row[0] for row in conn.exec_driver_sql("EXPLAIN " + sql)]
            assert f"Index Scan Backward using {index} on builds" in plan[1], plan
            assert not any("Sort" in line for line in plan), plan
