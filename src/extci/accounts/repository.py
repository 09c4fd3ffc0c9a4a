"""All SQL about users, personal access tokens and web sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from extci.accounts.models import PersonalAccessToken, User, WebSession
from extci.accounts.roles import Role
from extci.queries import newest_first


def user_by_name(session: Session, username: str) -> User | None:
    """Ignoring case, as the unique index on lower(username) does (and uses it). Usernames
    are ASCII: anything else names nobody (Python would lower the Kelvin sign to "k")."""
    if not username.isascii():
        return None
    stmt = select(User).where(func.lower(User.username) == username.lower())
    return session.execute(stmt).scalar_one_or_none()


def user_by_id(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def users(session: Session, *, after_id: int | None, limit: int) -> list[User]:
    """Newest first; ``after_id`` is the keyset cursor."""
    return newest_first(session, select(User), User.id, after_id=after_id, limit=limit)


def count_users(session: Session) -> int:
    return session.execute(select(func.count()).select_from(User)).scalar_one()


def count_active_admins_locked(session: Session) -> int:
    """How many active admins there are, locking their rows (PostgreSQL) so that two
    concurrent demotions or deactivations cannot both see "another admin remains"."""
    stmt = select(User.id).where(User.role == Role.ADMIN, User.active.is_(True)).with_for_update()
    return len(session.execute(stmt).all())


def delete_web_sessions_of(session: Session, user_id: int) -> None:
    session.execute(delete(WebSession).where(WebSession.user_id == user_id))


def add(session: Session, row: User | PersonalAccessToken | WebSession) -> None:
    session.add(row)
    session.flush()


def token_by_hash(session: Session, token_hash: str) -> PersonalAccessToken | None:
    stmt = select(PersonalAccessToken).where(PersonalAccessToken.token_hash == token_hash)
    return session.execute(stmt).scalar_one_or_none()


def stamp_token_used(
    session: Session, token_id: int, now: datetime, stale_before: datetime
) -> None:
    session.execute(
        update(PersonalAccessToken)
        .where(
            PersonalAccessToken.id == token_id,
            or_(
                PersonalAccessToken.last_used_at.is_(None),
                PersonalAccessToken.last_used_at < stale_before,
            ),
        )
        .values(last_used_at=now)
    )


def tokens_of(
    session: Session, user_id: int, *, after_id: int | None, limit: int
) -> list[PersonalAccessToken]:
    """Newest first; ``after_id`` is the keyset cursor."""
    stmt = select(PersonalAccessToken).where(PersonalAccessToken.user_id == user_id)
    return newest_first(session, stmt, PersonalAccessToken.id, after_id=after_id, limit=limit)


def token_of(session: Session, user_id: int, token_id: int) -> PersonalAccessToken | None:
    stmt = select(PersonalAccessToken).where(
        PersonalAccessToken.id == token_id, PersonalAccessToken.user_id == user_id
    )
    return session.execute(stmt).scalar_one_or_none()


def delete_token(session: Session, token: PersonalAccessToken) -> None:
    session.delete(token)
    session.flush()


def web_session_by_hash(session: Session, session_hash: str) -> WebSession | None:
    stmt = select(WebSession).where(WebSession.session_hash == session_hash)
    return session.execute(stmt).scalar_one_or_none()


def delete_web_session(session: Session, session_hash: str) -> None:
    session.execute(delete(WebSession).where(WebSession.session_hash == session_hash))


def delete_expired_web_sessions(session: Session, now: datetime) -> None:
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
