"""SQL of the ingest path's own state: the shared rate-limit windows (PostgreSQL), counted
by :class:`extci.ratelimit.DatabaseRateLimiter` through :func:`count_hits`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import cast

from sqlalchemy import Connection, Table, case

from extci.ingest.models import RateWindow
from extci.queries import dialect_insert
from extci.trust.models import TrustRateWindow


def count_requests(
    conn: Connection,
    hits: Mapping[int, int],
    now: datetime,
    stale_before: datetime,
    *,
    policies: bool = False,
) -> list[tuple[int, datetime, int]]:
    """One atomic upsert per key, in key order (so that concurrent processes lock the rows
    in one order): start a new window when the stored one is over, else count on. Returns
    each key's window start and its count including these hits. ``policies``: the ids are
    trust policies' (OIDC identities), counted in their own table."""
    table = cast(Table, (TrustRateWindow if policies else RateWindow).__table__)
    id_column = table.c.policy_id if policies else table.c.key_id
    stmt = dialect_insert(conn.dialect.name, table)
    over = table.c.window_start <= stale_before
    stmt = stmt.on_conflict_do_update(
        index_elements=[id_column],
        set_={
            "window_start": case((over, stmt.excluded.window_start), else_=table.c.window_start),
            "count": case((over, stmt.excluded.count), else_=table.c.count + stmt.excluded.count),
        },
    ).returning(id_column, table.c.window_start, table.c.count)
    rows = [{id_column.name: k, "window_start": now, "count": hits[k]} for k in sorted(hits)]
    return [(r[0], r[1], r[2]) for r in conn.execute(stmt, rows)]


def count_hits(
    conn: Connection, hits: Mapping[int, int], now: datetime, stale_before: datetime
) -> list[tuple[int, datetime, int]]:
    """:func:`count_requests` of CI keys (positive ids) and of trust policies' identities
    (OIDC tokens: negative ids, ``-policy.id``), each in its own table."""
    keys = {k: n for k, n in hits.items() if k > 0}
    rows = count_requests(conn, keys, now, stale_before) if keys else []
    if len(keys) < len(hits):
        policies = {-k: n for k, n in hits.items() if k < 0}
        counted = count_requests(conn, policies, now, stale_before, policies=True)
        rows += [(-k, start, count) for k, start, count in counted]
    return rows
