"""Users, roles and personal access tokens (management.md §1, §2)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from extci import security
from extci.accounts import repository
from extci.accounts.models import ROLES, PersonalAccessToken, User, WebSession
from extci.clock import utcnow
from extci.errors import Conflict, FieldError, Forbidden, NotFound, Unauthorized, ValidationFailed

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MIN_PASSWORD = 8
TOKEN_LAST_USED_RESOLUTION = timedelta(minutes=1)
INVALID_TOKEN = "Missing or invalid credentials."  # noqa: S105 - a message, not a secret


def role_at_least(role: str, needed: str) -> bool:
    return ROLES.index(role) >= ROLES.index(needed)


def require_role(user: User, needed: str) -> None:
    if not role_at_least(user.role, needed):
        raise Forbidden(f"This needs the {needed} role; {user.username!r} is {user.role}.")


def _validate_role(role: str) -> None:
    if role not in ROLES:
        raise ValidationFailed(
            f"Unknown role {role!r}.",
            errors=[FieldError("/role", "must be one of: " + ", ".join(ROLES))],
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


def create_user(session: Session, username: str, role: str, password: str | None = None) -> NewUser:
    if not USERNAME.fullmatch(username):
        raise ValidationFailed(
            f"Invalid username {username!r}.",
            errors=[FieldError("/username", "1-64 letters, digits, '.', '_' or '-'")],
        )
    _validate_role(role)
    generated = password is None
    secret = security.generate_password() if password is None else password
    _validate_password(secret)
    if repository.user_by_name(session, username) is not None:
        raise Conflict(f"User {username!r} already exists.")
    user = User(
        username=username,
        password_hash=security.hash_password(secret),
        role=role,
        created_at=utcnow(),
    )
    repository.add(session, user)
    return NewUser(user, secret if generated else None)


def get_user(session: Session, username: str) -> User:
    user = repository.user_by_name(session, username)
    if user is None:
        raise NotFound(f"User {username!r} does not exist.")
    return user


def list_users(session: Session) -> list[User]:
    return repository.users(session)


def update_user(
    session: Session, username: str, *, role: str | None = None, password: str | None = None
) -> User:
    user = get_user(session, username)
    if role is not None:
        _validate_role(role)
        user.role = role
    if password is not None:
        _validate_password(password)
        user.password_hash = security.hash_password(password)
    return user


def ensure_first_admin(session: Session) -> str | None:
    """On an empty installation create ``admin`` with a random password and return it."""
    if repository.count_users(session) > 0:
        return None
    created = create_user(session, "admin", "admin")
    return created.password


def check_password(session: Session, username: str, password: str) -> User | None:
    user = repository.user_by_name(session, username)
    if user is None:
        security.verify_password(security.DUMMY_PASSWORD_HASH, password)
        return None
    return user if security.verify_password(user.password_hash, password) else None


# ---- personal access tokens ---------------------------------------------------------


@dataclass(frozen=True)
class NewToken:
    token: PersonalAccessToken
    secret: str


def create_token(
    session: Session, secret: bytes, user: User, *, name: str, expires_at: datetime | None
) -> NewToken:
    name = name.strip()
    if not name or len(name) > 255:
        raise ValidationFailed(
            "Invalid token name.", errors=[FieldError("/name", "must be 1-255 characters")]
        )
    now = utcnow()
    if expires_at is not None and expires_at <= now:
        raise ValidationFailed(
            "The expiry lies in the past.",
            errors=[FieldError("/expiresAt", "must be in the future")],
        )
    plaintext = security.generate_token(security.PAT_PREFIX)
    token = PersonalAccessToken(
        user_id=user.id,
        name=name,
        token_hash=security.keyed_hash(secret, plaintext),
        hint=security.token_hint(plaintext, security.PAT_PREFIX),
        expires_at=expires_at,
        created_at=now,
    )
    repository.add(session, token)
    return NewToken(token, plaintext)


def list_tokens(session: Session, user: User) -> list[PersonalAccessToken]:
    return repository.tokens_of(session, user.id)


def delete_token(session: Session, user: User, token_id: int) -> None:
    if not repository.delete_token(session, user.id, token_id):
        raise NotFound(f"You have no token {token_id}.")


def authenticate_token(session: Session, secret: bytes, presented: str) -> User:
    """The user a bearer token acts as. A CI key is refused here, whatever its status."""
    if presented.startswith(security.CI_KEY_PREFIX):
        raise Unauthorized("A CI key cannot be used on the management API; use a personal token.")
    if not security.token_is_well_formed(presented, security.PAT_PREFIX):
        raise Unauthorized(INVALID_TOKEN)
    token = repository.token_by_hash(session, security.keyed_hash(secret, presented))
    now = utcnow()
    if token is None or (token.expires_at is not None and token.expires_at <= now):
        raise Unauthorized(INVALID_TOKEN)
    if token.last_used_at is None or token.last_used_at < now - TOKEN_LAST_USED_RESOLUTION:
        token.last_used_at = now
    user = repository.user_by_id(session, token.user_id)
    if user is None:
        raise Unauthorized(INVALID_TOKEN)
    return user


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
    return SignedIn(user, row.csrf_token) if user is not None else None


def end_web_session(session: Session, secret: bytes, cookie: str) -> None:
    repository.delete_web_session(session, security.keyed_hash(secret, cookie))
