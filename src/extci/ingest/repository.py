"""SQL of the ingest path's own state: the shared rate-limit windows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case
from sqlalchemy.orm import Session

from extci.db import insert_for
from extci.ingest.models import RateWindow


def count_request(
    session: Session, key_id: int, now: datetime, stale_before: datetime
) -> tuple[datetime, int]:
    """One atomic upsert: start a new window when the stored one is over, else count on.
    Returns the window's start and its count including this request."""
    over = RateWindow.window_start <= stale_before
    stmt = (
        insert_for(session, RateWindow)
        .values(key_id=key_id, window_start=now, count=1)
        .on_conflict_do_update(
            index_elements=[RateWindow.key_id],
            set_={
                "window_start": case((over, now), else_=RateWindow.window_start),
                "count": case((over, 1), else_=RateWindow.count + 1),
            },
        )
        .returning(RateWindow.window_start, RateWindow.count)
    )
    start, count = session.execute(stmt).one()
    return start, count
