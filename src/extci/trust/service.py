"""Trust policies: keyless CI authentication with OIDC identity tokens.

A policy says: tokens signed by ``issuer`` (found through its OpenID discovery document),
whose ``aud`` holds ``audience`` and whose claims equal every condition in ``claims``,
report builds of this component, as its CI keys do. At least one claim condition is
required: an issuer such as GitHub Actions signs tokens for every repository it runs.
(A condition on a registered claim such as ``aud`` or ``exp`` simply never matches.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from extci.audit.models import AuditAction
from extci.audit.service import Actor, record
from extci.clock import utcnow
from extci.components import owned
from extci.components import repository as component_rows
from extci.errors import FieldError, ValidationFailed
from extci.schemas import NAME_PATTERN
from extci.trust.models import TrustPolicy
from extci.validation import display_name, is_unicode_text

MAX_CLAIMS = 10
MAX_CLAIM_VALUE = 1024
MAX_ISSUER = 2048
MAX_AUDIENCE = 255
# What the OpenAPI document states and every edge (API, form, CLI) enforces, exactly.
# An issuer: https, a host (and port), a path; no user, query or fragment.
ISSUER_PATTERN = r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~%!$&'()*+,;=:@/-]*)?$"
_HTTP_ISSUER = re.compile(ISSUER_PATTERN.replace("^https://", "^https?://"))
CLAIM_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$"
# An audience or a claim's value: not blank, no NUL (compared exactly, never trimmed).
VALUE_PATTERN = NAME_PATTERN

# Well-known issuers, for the forms' hints and the docs.
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"


def _invalid(pointer: str, detail: str) -> ValidationFailed:
    return ValidationFailed("Invalid trust policy.", errors=[FieldError(pointer, detail)])


def issuer_url(value: str, *, allow_http: bool) -> str:
    """An issuer exactly as the tokens name it: an https URL without user, query or
    fragment (http only where the test-only ``EXTCI_OIDC_ALLOW_HTTP_ISSUERS`` allows it)."""
    pattern = _HTTP_ISSUER if allow_http else re.compile(ISSUER_PATTERN)
    if len(value) > MAX_ISSUER or not pattern.fullmatch(value):
        raise _invalid("/issuer", "must be an https URL without user, query or fragment")
    return value


def _value(value: object, pointer: str, most: int) -> str:
    if (
        not isinstance(value, str)
        or len(value) > most
        or not is_unicode_text(value)
        or not re.fullmatch(VALUE_PATTERN, value)
    ):
        raise _invalid(pointer, f"must be 1-{most} characters, not blank, without NUL")
    return value


def _claims(value: Mapping[str, Any]) -> dict[str, str]:
    if not value:
        raise _invalid("/claims", "name at least one claim condition, e.g. repository or ref")
    if len(value) > MAX_CLAIMS:
        raise _invalid("/claims", f"at most {MAX_CLAIMS} conditions")
    claims: dict[str, str] = {}
    for name, expected in value.items():
        pointer = f"/claims/{name}"
        if not re.fullmatch(CLAIM_NAME_PATTERN, name):
            raise _invalid(pointer, "a claim name: a letter or _, then letters, digits, _.:-")
        claims[name] = _value(expected, pointer, MAX_CLAIM_VALUE)
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
    owned.external_component(session, component_id, before="trusting a CI's identity tokens")
    policy = TrustPolicy(
        component_id=component_id,
        name=display_name(name, "trust policy"),
        issuer=issuer_url(issuer, allow_http=allow_http),
        audience=_value(audience, "/audience", MAX_AUDIENCE),
        claims=_claims(claims),
        created_at=utcnow(),
        created_by=actor.name,
    )
    component_rows.add(session, policy)
    _record(session, actor, AuditAction.TRUST_POLICY_CREATED, policy)
    return policy


def _record(session: Session, actor: Actor, action: AuditAction, policy: TrustPolicy) -> None:
    details = {"name": policy.name, "issuer": policy.issuer, "audience": policy.audience}
    target = f"trust policy {policy.id}"
    record(session, actor, action, target, component_id=policy.component_id, details=details)


_POLICIES = owned.Rows(TrustPolicy, "Trust policy")
list_policies = _POLICIES.page
get = _POLICIES.get


def delete(session: Session, component_id: str, policy_id: int, *, actor: Actor) -> None:
    policy = get(session, component_id, policy_id)
    _record(session, actor, AuditAction.TRUST_POLICY_DELETED, policy)
    component_rows.delete(session, policy)
