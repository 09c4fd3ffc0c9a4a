"""A component's OIDC trust policies on its page (``_trust.html``): add and delete.

Puts ``trust_policies_of(request, component_id)`` in the templates' globals, so that the
component page includes the section with one line and its view needs no change.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from fastapi.routing import APIRouter

from extci.db import unit_of_work
from extci.dependencies import SessionDep
from extci.errors import ValidationFailed
from extci.pagination import MAX_LIMIT
from extci.trust import service as trust
from extci.trust.models import TrustPolicy
from extci.web import render as r
from extci.web.auth import EditorForm
from extci.web.pages.common import Field, see_other
from extci.web.pages.components import component_page_at
from extci.web.pages.context import EditorFormPage

router = APIRouter(include_in_schema=False)


@r.template_global
def trust_policies_of(request: Request, component_id: str) -> list[TrustPolicy]:
    with unit_of_work(request.app.state.runtime.sessions) as session:
        policies = trust.list_policies(session, component_id, limit=MAX_LIMIT)
        session.expunge_all()
    return policies.items


def parse_claims(text: str) -> dict[str, Any]:
    """``name=value`` lines (blank lines ignored) as the API's claims object."""
    claims: dict[str, Any] = {}
    for line in text.splitlines():
        if line.strip():
            name, sep, value = line.partition("=")
            claims[name.strip()] = value.strip() if sep else None
    return claims


@dataclass(frozen=True)
class PolicyForm:
    """The add-a-policy form's fields, as typed."""

    name: str
    issuer: str
    audience: str
    claims: str


def _policy_form(
    name: Field = "", issuer: Field = "", audience: Field = "", claims: Field = ""
) -> PolicyForm:
    return PolicyForm(name, issuer, audience, claims)


@router.post("/components/{component_id}/trust-policies")
def trust_policy_create(
    page: EditorFormPage, component_id: str, form: Annotated[PolicyForm, Depends(_policy_form)]
) -> Response:
    try:
        trust.create(
            page.session,
            component_id,
            name=form.name,
            issuer=form.issuer,
            audience=form.audience,
            claims=parse_claims(form.claims),
            actor=page.visitor.actor,
            allow_http=page.settings.oidc_allow_http_issuers,
        )
    except ValidationFailed as exc:
        page.session.rollback()
        details = "; ".join(f"{e.pointer.lstrip('/')}: {e.detail}" for e in exc.errors)
        extra = {
            "trust_error": f"{exc.detail} {details}".strip(),
            # What was typed stays, to be corrected rather than typed again.
            "trust_values": asdict(form),
        }
        return component_page_at(page, component_id, "trust", extra, status_code=400)
    return see_other(f"/components/{component_id}#trust")


@router.post("/components/{component_id}/trust-policies/{policy_id}/delete")
def trust_policy_delete(
    session: SessionDep, visitor: EditorForm, component_id: str, policy_id: int
) -> Response:
    trust.delete(session, component_id, policy_id, actor=visitor.actor)
    return see_other(f"/components/{component_id}#trust")
