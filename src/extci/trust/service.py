"""Trust policies: keyless CI authentication with OIDC identity tokens.

A policy says: tokens signed by ``issuer`` (found through its OpenID discovery document),
whose ``aud`` holds ``audience`` and whose claims equal every condition in ``claims``,
report builds of this component, as its CI keys do. At least one claim condition is
required: an issuer such as GitHub Actions signs tokens for every repository it runs.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from extci.audit.models import AuditAction
from extci.audit.service import Actor, record
from extci.clock import utcnow
from extci.components import service as components
from extci.errors import Conflict, FieldError, NotFound, ValidationFailed
from extci.pagination import DEFAULT_LIMIT, Page, decode_id_cursor, encode_cursor, page_of
from extci.trust import repository
from extci.trust.models import TrustPolicy
from extci.validation import display_name, is_unicode_text, storable_id

MAX_CLAIMS = 10
MAX_CLAIM_VALUE = 1024
CLAIM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$")
# Claims the token's signature and times are checked by: conditions on them would mean
# nothing (or be checked twice), so they are refused.
RESERVED_CLAIMS = frozenset({"iss", "aud", "exp", "nbf", "iat", "jti"})

# Well-known issuers, for the forms' hints and the docs.
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"


def _invalid(pointer: str, detail: str) -> ValidationFailed:
    return ValidationFailed("Invalid trust policy.", errors=[FieldError(pointer, detail)])


def issuer_url(value: str, *, allow_http: bool) -> str:
    """An issuer as the tokens name it: an https URL without query or fragment (http only
    where the test-only setting ``EXTCI_OIDC_ALLOW_HTTP_ISSUERS`` allows it)."""
    issuer = value.strip()
    parts = urllib.parse.urlsplit(issuer)
    schemes = ("https", "http") if allow_http else ("https",)
    if (
        len(issuer) > 2048
        or parts.scheme not in schemes
        or not parts.hostname
        or parts.query
        or parts.fragment
        or parts.username
        or not is_unicode_text(issuer)
    ):
        raise _invalid("/issuer", "must be an https URL without query, fragment or user")
    return issuer


def _audience(value: str) -> str:
    audience = value.strip()
    if not audience or len(audience) > 255 or not is_unicode_text(audience):
        raise _invalid("/audience", "must be 1-255 characters")
    return audience


def _claims(value: Mapping[str, Any]) -> dict[str, str]:
    if not value:
        raise _invalid("/claims", "name at least one claim condition, e.g. repository or ref")
    if len(value) > MAX_CLAIMS:
        raise _invalid("/claims", f"at most {MAX_CLAIMS} conditions")
    claims: dict[str, str] = {}
    for name, expected in value.items():
        pointer = f"/claims/{name}"
        if not CLAIM_NAME.match(name) or name in RESERVED_CLAIMS:
            raise _invalid(pointer, "not a claim a condition can be put on")
        if not isinstance(expected, str) or not expected or len(expected) > MAX_CLAIM_VALUE:
            raise _invalid(pointer, f"must be a string of 1-{MAX_CLAIM_VALUE} characters")
        if not is_unicode_text(expected):
            raise _invalid(pointer, "must be Unicode text")
        claims[name] = expected
    return claims


def create(
    session: Session,
    component_id: str,
    *,
    name: str,
    issuer: str,
    audience: str,
    claims: Mapping[str, Any],
    actor: Actor,
    allow_http: bool = False,
) -> TrustPolicy:
    component = components.get(session, component_id)
    if component.ci_mode != "external":
        raise Conflict(
            f"Component {component_id!r} is built by the platform; switch it to External CI "
            "before trusting a CI's identity tokens."
        )
    policy = TrustPolicy(
        component_id=component_id,
        name=display_name(name, "trust policy"),
        issuer=issuer_url(issuer, allow_http=allow_http),
        audience=_audience(audience),
        claims=_claims(claims),
        created_at=utcnow(),
        created_by=actor.name,
    )
    repository.add(session, policy)
    _record(session, actor, AuditAction.TRUST_POLICY_CREATED, policy)
    return policy


def _record(session: Session, actor: Actor, action: AuditAction, policy: TrustPolicy) -> None:
    details = {"name": policy.name, "issuer": policy.issuer, "audience": policy.audience}
    target = f"trust policy {policy.id}"
    record(session, actor, action, target, component_id=policy.component_id, details=details)


def listing(
    session: Session, component_id: str, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> Page[TrustPolicy]:
    components.get(session, component_id)
    rows = repository.for_component(
        session, component_id, after_id=decode_id_cursor(cursor), limit=limit + 1
    )
    return page_of(rows, limit, lambda p: encode_cursor(p.id))


def get(session: Session, component_id: str, policy_id: int) -> TrustPolicy:
    components.get(session, component_id)
    policy = repository.get(session, component_id, policy_id) if storable_id(policy_id) else None
    if policy is None:
        raise NotFound(f"Trust policy {policy_id} of component {component_id!r} does not exist.")
    return policy


def delete(session: Session, component_id: str, policy_id: int, *, actor: Actor) -> None:
    policy = get(session, component_id, policy_id)
    _record(session, actor, AuditAction.TRUST_POLICY_DELETED, policy)
    repository.delete(session, policy)
