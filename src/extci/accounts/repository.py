"""All SQL about users, personal access tokens and web sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.orm import Session

from extci.accounts.models import PersonalAccessToken, User, WebSession


def user_by_name(session: Session, username: str) -> User | None:
    return session.execute(select(User).where(User.username == username)).scalar_one_or_none()


def user_by_id(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def users(session: Session) -> list[User]:
    return list(session.execute(select(User).order_by(User.id.desc())).scalars())


def count_users(session: Session) -> int:
    return session.execute(select(func.count()).select_from(User)).scalar_one()


def add(session: Session, row: User | PersonalAccessToken | WebSession) -> None:
    session.add(row)
    session.flush()


def token_by_hash(session: Session, token_hash: str) -> PersonalAccessToken | None:
    stmt = select(PersonalAccessToken).where(PersonalAccessToken.token_hash == token_hash)
    return session.execute(stmt).scalar_one_or_none()


def tokens_of(session: Session, user_id: int) -> list[PersonalAccessToken]:
    stmt = (
        select(PersonalAccessToken)
        .where(PersonalAccessToken.user_id == user_id)
        .order_by(PersonalAccessToken.id.desc())
    )
    return list(session.execute(stmt).scalars())


def delete_token(session: Session, user_id: int, token_id: int) -> bool:
    stmt = delete(PersonalAccessToken).where(
        PersonalAccessToken.id == token_id, PersonalAccessToken.user_id == user_id
    )
    result: CursorResult[Any] = session.execute(stmt)  # type: ignore[assignment]
    return result.rowcount > 0


def web_session_by_hash(session: Session, session_hash: str) -> WebSession | None:
    stmt = select(WebSession).where(WebSession.session_hash == session_hash)
    return session.execute(stmt).scalar_one_or_none()


def delete_web_session(session: Session, session_hash: str) -> None:
    session.execute(delete(WebSession).where(WebSession.session_hash == session_hash))


def delete_expired_web_sessions(session: Session, now: datetime) -> None:
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
