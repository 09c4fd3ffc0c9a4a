"""A component's OIDC trust policies on its page (``_trust.html``): add and delete.

Puts ``trust_policies_of(request, component_id)`` in the templates' globals, so that the
component page includes the section with one line and its view needs no change.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.routing import APIRouter

from extci.db import unit_of_work
from extci.dependencies import SessionDep, SettingsDep
from extci.errors import ValidationFailed
from extci.pagination import MAX_LIMIT
from extci.trust import service as trust
from extci.trust.models import TrustPolicy
from extci.web import render as r
from extci.web.auth import EditorForm
from extci.web.pages.common import Field, see_other
from extci.web.pages.components import component_page_at

router = APIRouter(include_in_schema=False)


def trust_policies_of(request: Request, component_id: str) -> list[TrustPolicy]:
    with unit_of_work(request.app.state.runtime.sessions) as session:
        page = trust.list_policies(session, component_id, limit=MAX_LIMIT)
        session.expunge_all()
    return page.items


r.ENV.globals["trust_policies_of"] = trust_policies_of


def parse_claims(text: str) -> dict[str, Any]:
    """``name=value`` lines (blank lines ignored) as the API's claims object."""
    claims: dict[str, Any] = {}
    for line in text.splitlines():
        if line.strip():
            name, sep, value = line.partition("=")
            claims[name.strip()] = value.strip() if sep else None
    return claims


@router.post("/components/{component_id}/trust-policies")
def trust_policy_create(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    visitor: EditorForm,
    component_id: str,
    name: Field = "",
    issuer: Field = "",
    audience: Field = "",
    claims: Field = "",
) -> Response:
    try:
        trust.create(
            session,
            component_id,
            name=name,
            issuer=issuer,
            audience=audience,
            claims=parse_claims(claims),
            actor=visitor.actor,
            allow_http=settings.oidc_allow_http_issuers,
        )
    except ValidationFailed as exc:
        session.rollback()
        details = "; ".join(f"{e.pointer.lstrip('/')}: {e.detail}" for e in exc.errors)
        extra = {
            "trust_error": f"{exc.detail} {details}".strip(),
            # What was typed stays, to be corrected rather than typed again.
            "trust_values": {
                "name": name,
                "issuer": issuer,
                "audience": audience,
                "claims": claims,
            },
        }
        return component_page_at(
            request, session, settings, visitor, component_id, "trust", extra, status_code=400
        )
    return see_other(f"/components/{component_id}#trust")


@router.post("/components/{component_id}/trust-policies/{policy_id}/delete")
def trust_policy_delete(
    session: SessionDep, visitor: EditorForm, component_id: str, policy_id: int
) -> Response:
    trust.delete(session, component_id, policy_id, actor=visitor.actor)
    return see_other(f"/components/{component_id}#trust")
