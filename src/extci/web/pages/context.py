"""What a page's handler works with: the request, its unit of work, the settings, the time
and who is looking, as one dependency (:class:`Page`) in the flavours of ``web.auth``.

No ``from __future__ import annotations`` here: FastAPI reads the annotations of
:func:`page_for`'s dependency at run time, and they name its argument.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from extci.accounts import service as accounts
from extci.accounts.roles import Role
from extci.builds.state import AsOf
from extci.config import Settings
from extci.dependencies import NowDep, SessionDep, SettingsDep
from extci.web import render as r
from extci.web.auth import FormWithRole, Visitor, VisitorWithRole, form_visitor, visitor


@dataclass(frozen=True, eq=False)  # one per request: compared and hashed by identity
class Page:
    request: Request
    session: Session
    settings: Settings
    now: datetime
    visitor: Visitor

    @property
    def as_of(self) -> AsOf:
        """The moment this page reads builds at (a BUILDING build idle since the settings'
        inactivity timeout reads LOST)."""
        return AsOf(self.now, self.settings.build_inactivity_timeout)

    @property
    def cursor(self) -> str | None:
        """The ``?cursor=`` of a paged list; None for its first page."""
        return self.request.query_params.get("cursor") or None

    @property
    def done(self) -> str:
        """The ``?done=`` a redirect after a change carries: which notice to show."""
        return self.request.query_params.get("done", "")

    def filters(self, *names: str) -> dict[str, str]:
        """The query's filters by name, trimmed; "" for one not given."""
        query = self.request.query_params
        return {name: query.get(name, "").strip() for name in names}

    def require(self, role: Role) -> None:
        """403 unless the visitor holds ``role`` or a higher one."""
        accounts.require_role(self.visitor.user, role)

    def render(self, template: str, context: dict[str, Any], *, status_code: int = 200) -> Response:
        """The template, shown to this visitor (the navigation depends on who it is)."""
        return r.render(
            self.request, template, {"visitor": self.visitor, **context}, status_code=status_code
        )


def page_for(who: Callable[..., Visitor]) -> Callable[..., Page]:
    """The :class:`Page` dependency for the visitor that the dependency ``who`` answers
    (signed in; with a form's CSRF token; with a role)."""

    def page(
        request: Request,
        session: SessionDep,
        settings: SettingsDep,
        now: NowDep,
        visitor: Annotated[Visitor, Depends(who)],
    ) -> Page:
        return Page(request, session, settings, now, visitor)

    return page


VisitorPage = Annotated[Page, Depends(page_for(visitor))]
FormPage = Annotated[Page, Depends(page_for(form_visitor))]
EditorFormPage = Annotated[Page, Depends(page_for(FormWithRole(Role.EDITOR)))]
AdminPage = Annotated[Page, Depends(page_for(VisitorWithRole(Role.ADMIN)))]
AdminFormPage = Annotated[Page, Depends(page_for(FormWithRole(Role.ADMIN)))]
