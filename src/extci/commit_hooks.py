"""Calling back after a commit that changed rows of one model.

The in-process caches (CI keys, trust policies, webhook subscriptions) use it to see this
process's own changes at once; other processes' changes they see when their entries expire.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker


def on_commit_changing(
    sessions: sessionmaker[Session], model: type[Any], callback: Callable[[], None]
) -> None:
    """Call ``callback`` after a session of ``sessions`` commits a transaction that added,
    changed or deleted a ``model`` row; a rolled-back change calls nothing."""
    flag = f"extci_{model.__tablename__}_changed"

    @event.listens_for(sessions, "after_flush")
    def _note(session: Session, _context: Any) -> None:
        touched = (*session.new, *session.dirty, *session.deleted)
        if any(isinstance(obj, model) for obj in touched):
            session.info[flag] = True

    @event.listens_for(sessions, "after_commit")
    def _call(session: Session) -> None:
        if session.info.pop(flag, False):
            callback()

    @event.listens_for(sessions, "after_rollback")
    def _drop(session: Session) -> None:
        session.info.pop(flag, None)
