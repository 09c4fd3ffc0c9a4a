"""Users, roles and personal access tokens (management.md §1, §2)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from extci import security
from extci.accounts import repository
from extci.accounts.models import PersonalAccessToken, User, WebSession
from extci.accounts.roles import Role
from extci.audit.models import AuditAction
from extci.audit.service import Actor, record
from extci.clock import utcnow
from extci.errors import Conflict, FieldError, Forbidden, NotFound, Unauthorized, ValidationFailed
from extci.pagination import DEFAULT_LIMIT, Page, decode_id_cursor, encode_cursor, page_of
from extci.validation import display_name, future_expiry, storable_id

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MIN_PASSWORD = 8
TOKEN_LAST_USED_RESOLUTION = timedelta(minutes=1)
INVALID_TOKEN = "Missing or invalid credentials."  # noqa: S105 - a message, not a secret
DEACTIVATED_TOKEN = "The user of this token is deactivated."  # noqa: S105 - a message
DEACTIVATED = "This account is deactivated. Ask an administrator to reactivate it."


def role_at_least(role: str, needed: str) -> bool:
    return Role(role).at_least(Role(needed))


def require_role(user: User, needed: str) -> None:
    if not role_at_least(user.role, needed):
        raise Forbidden(f"This needs the {needed} role; {user.username!r} is {user.role}.")


def _validate_role(role: str) -> None:
    if role not in list(Role):
        raise ValidationFailed(
            f"Unknown role {role!r}.",
            errors=[FieldError("/role", "must be one of: " + ", ".join(Role))],
        )


def _validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(
            "The password is too short.",
            errors=[FieldError("/password", f"must be at least {MIN_PASSWORD} characters")],
        )


@dataclass(frozen=True)
class NewUser:
    user: User
    password: str | None  # set when generated here, to be shown once


def create_user(
    session: Session, username: str, role: str, password: str | None = None, *, actor: Actor
) -> NewUser:
    if not USERNAME.fullmatch(username):
        raise ValidationFailed(
            f"Invalid username {username!r}.",
            errors=[FieldError("/username", "1-64 letters, digits, '.', '_' or '-'")],
        )
    _validate_role(role)
    generated = password is None
    secret = security.generate_password() if password is None else password
    _validate_password(secret)
    existing = repository.user_by_name(session, username)
    if existing is not None:
        same = "" if existing.username == username else f" as {existing.username!r}"
        raise Conflict(
            f"User {username!r} already exists{same} (usernames are unique ignoring case)."
        )
    user = User(
        username=username,
        password_hash=security.hash_password(secret),
        role=role,
        created_at=utcnow(),
        active=True,
    )
    repository.add(session, user)
    record(session, actor, AuditAction.USER_CREATED, user.username, details={"role": role})
    return NewUser(user, secret if generated else None)


def get_user(session: Session, username: str) -> User:
    """The user of that name, ignoring case."""
    user = repository.user_by_name(session, username)
    if user is None:
        raise NotFound(f"User {username!r} does not exist.")
    return user


def list_users(
    session: Session, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> Page[User]:
    rows = repository.users(session, after_id=decode_id_cursor(cursor), limit=limit + 1)
    return page_of(rows, limit, lambda u: encode_cursor(u.id))


@dataclass(frozen=True)
class UserChange:
    """What an update of a user changes: None leaves that as it is."""

    role: str | None = None
    password: str | None = None
    active: bool | None = None


def update_user(session: Session, username: str, change: UserChange, *, actor: Actor) -> User:
    """Change role, password and/or active state together, each change audited; every
    rule is checked before anything changes."""
    user = get_user(session, username)
    role, password, active = change.role, change.password, change.active
    if role is not None:
        _validate_role(role)
    if password is not None:
        _validate_password(password)
    new_role = user.role if role is None else role
    new_active = user.active if active is None else active
    if (
        user.role == Role.ADMIN
        and user.active
        and not (new_role == Role.ADMIN and new_active)
        and repository.count_active_admins_locked(session) <= 1
    ):
        raise Conflict(
            f"{user.username!r} is the last active admin; it can be neither demoted nor "
            "deactivated. Make another user admin first."
        )
    if new_role != user.role:
        changed = {"from": user.role, "to": new_role}
        user.role = new_role
        record(session, actor, AuditAction.USER_ROLE_CHANGED, user.username, details=changed)
    if password is not None:
        user.password_hash = security.hash_password(password)
        # A new password signs the user out everywhere (tokens are separate credentials).
        repository.delete_web_sessions_of(session, user.id)
        record(session, actor, AuditAction.USER_PASSWORD_CHANGED, user.username)
    if new_active != user.active:
        user.active = new_active
        if not new_active:
            # Cut off at once: browser sessions end; tokens stay but answer 401 until
            # the user is activated again (see authenticate_token).
            repository.delete_web_sessions_of(session, user.id)
        action = AuditAction.USER_ACTIVATED if new_active else AuditAction.USER_DEACTIVATED
        record(session, actor, action, user.username)
    return user


def ensure_first_admin(session: Session) -> str | None:
    """On an empty installation create ``admin`` with a random password and return it.

    Two servers starting together on an empty database may race here; the unique username
    lets exactly one insert win, and the other sees an installation that has its admin.
    """
    if repository.count_users(session) > 0:
        return None
    try:
        with session.begin_nested():
            created = create_user(session, "admin", Role.ADMIN, actor=Actor.system())
    except IntegrityError:
        return None
    return created.password


def check_password(session: Session, username: str, password: str) -> User | None:
    """The user whose password this is (username ignoring case), active or not: the caller
    tells a deactivated user so only after the right password (see ``DEACTIVATED``)."""
    user = repository.user_by_name(session, username)
    if user is None:
        security.verify_password(security.dummy_password_hash(), password)
        return None
    return user if security.verify_password(user.password_hash, password) else None


# ---- personal access tokens ---------------------------------------------------------


@dataclass(frozen=True)
class NewToken:
    token: PersonalAccessToken
    secret: str


def create_token(
    session: Session,
    secret: bytes,
    user: User,
    *,
    name: str,
    expires_at: datetime | None,
    actor: Actor,
) -> NewToken:
    now = utcnow()
    plaintext = security.generate_token(security.PAT_PREFIX)
    token = PersonalAccessToken(
        user_id=user.id,
        name=display_name(name, "token"),
        token_hash=security.keyed_hash(secret, plaintext),
        hint=security.token_hint(plaintext, security.PAT_PREFIX),
        expires_at=future_expiry(expires_at, now),
        created_at=now,
    )
    repository.add(session, token)
    record(
        session,
        actor,
        AuditAction.TOKEN_CREATED,
        f"token {token.id}",
        details={"user": user.username, "name": token.name},
    )
    return NewToken(token, plaintext)


def list_tokens(
    session: Session, user: User, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> Page[PersonalAccessToken]:
    rows = repository.tokens_of(
        session, user.id, after_id=decode_id_cursor(cursor), limit=limit + 1
    )
    return page_of(rows, limit, lambda t: encode_cursor(t.id))


def get_token(
    session: Session, user: User, token_id: int, *, actor: Actor | None = None
) -> PersonalAccessToken:
    """One of ``user``'s tokens; ``actor`` only words the 404 ("You have no token 3")."""
    token = repository.token_of(session, user.id, token_id) if storable_id(token_id) else None
    if token is None:
        own = actor is not None and actor.name == user.username
        whose = "You have" if own else f"User {user.username!r} has"
        raise NotFound(f"{whose} no token {token_id}.")
    return token


def delete_token(session: Session, user: User, token_id: int, *, actor: Actor) -> None:
    """Delete one of ``user``'s tokens: their own, or anyone's for an admin (the edge
    decides who may name which user)."""
    token = get_token(session, user, token_id, actor=actor)
    details = {"user": user.username, "name": token.name}
    record(session, actor, AuditAction.TOKEN_DELETED, f"token {token.id}", details=details)
    repository.delete_token(session, token)


@dataclass(frozen=True)
class TokenHolder:
    user: User
    token_id: int
    stamp_due: bool  # last use is older than the resolution: record this use


def authenticate_token(session: Session, secret: bytes, presented: str) -> TokenHolder:
    """The user a bearer token acts as. A CI key is refused here, whatever its status.
    Reads only: the request may be a read-only transaction (see ``note_token_use``)."""
    if presented.startswith(security.CI_KEY_PREFIX):
        raise Unauthorized("A CI key cannot be used on the management API; use a personal token.")
    if not security.token_is_well_formed(presented, security.PAT_PREFIX):
        raise Unauthorized(INVALID_TOKEN)
    token = repository.token_by_hash(session, security.keyed_hash(secret, presented))
    now = utcnow()
    if token is None or (token.expires_at is not None and token.expires_at <= now):
        raise Unauthorized(INVALID_TOKEN)
    user = repository.user_by_id(session, token.user_id)
    if user is None:
        raise Unauthorized(INVALID_TOKEN)
    if not user.active:
        raise Unauthorized(DEACTIVATED_TOKEN)
    stale_before = now - TOKEN_LAST_USED_RESOLUTION
    due = token.last_used_at is None or token.last_used_at < stale_before
    return TokenHolder(user, token.id, due)


def note_token_use(session: Session, token_id: int) -> None:
    """Stamp last use, at most once a minute per token, in a write transaction of its own."""
    now = utcnow()
    repository.stamp_token_used(session, token_id, now, now - TOKEN_LAST_USED_RESOLUTION)


# ---- browser sessions ---------------------------------------------------------------

WEB_SESSION_LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class NewWebSession:
    cookie: str  # the random id the browser keeps; only its keyed hash is stored
    csrf_token: str


@dataclass(frozen=True)
class SignedIn:
    user: User
    csrf_token: str


def start_web_session(session: Session, secret: bytes, user: User) -> NewWebSession:
    now = utcnow()
    repository.delete_expired_web_sessions(session, now)
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    repository.add(
        session,
        WebSession(
            user_id=user.id,
            session_hash=security.keyed_hash(secret, cookie),
            csrf_token=csrf,
            created_at=now,
            expires_at=now + WEB_SESSION_LIFETIME,
        ),
    )
    return NewWebSession(cookie, csrf)


def web_session_user(session: Session, secret: bytes, cookie: str) -> SignedIn | None:
    row = repository.web_session_by_hash(session, security.keyed_hash(secret, cookie))
    if row is None or row.expires_at <= utcnow():
        return None
    user = repository.user_by_id(session, row.user_id)
    # Deactivation deletes the sessions too; this covers one that raced it.
    return SignedIn(user, row.csrf_token) if user is not None and user.active else None


def end_web_session(session: Session, secret: bytes, cookie: str) -> None:
    repository.delete_web_session(session, security.keyed_hash(secret, cookie))
