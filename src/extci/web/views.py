"""The web UI: server-rendered pages on the same services the JSON API calls.

Every page reads without JavaScript; ``static/app.js`` only improves (modal dialogs, copy,
local times, live updates over server-sent events from :mod:`extci.notify`).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from fastapi.routing import APIRouter
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from extci.accounts import service as accounts
from extci.accounts.dependencies import SESSION_COOKIE
from extci.builds import service as builds
from extci.builds import state
from extci.builds.repository import HistoryFilter
from extci.clock import utcnow
from extci.components import service as components
from extci.config import Settings
from extci.dependencies import SessionDep, SettingsDep
from extci.errors import ExtciError, FieldError, ValidationFailed
from extci.keys import service as keys
from extci.keys.schemas import KeyOut
from extci.notify import Broadcaster
from extci.web import render as r
from extci.web.auth import (
    SIGN_IN_COOKIE,
    EditorForm,
    FormVisitor,
    SignInRequired,
    SignInThrottle,
    Visitor,
    VisitorDep,
    secure_cookies,
    tokens_match,
)

router = APIRouter(include_in_schema=False)
HISTORY_PAGE = 25
KEEPALIVE_SECONDS = 15.0
NON_PAGE_PREFIXES = ("/api/", "/ci/", "/healthz", "/readyz", "/docs", "/redoc", "/openapi")
NOTICES = {
    "created": "Component created.",
    "external": "Switched to External CI: builds now come from CI events.",
    "platform": "Switched back to platform builds.",
    "suspended": "CI key suspended: the webhook refuses it until it is resumed.",
    "resumed": "CI key resumed.",
    "deleted": "CI key deleted.",
}
Field = Annotated[str, Form()]


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _field_errors(exc: ExtciError) -> dict[str, str]:
    """Problem pointers (``/id``) to form field names (``id``); the rest goes under ``_``."""
    errors = {e.pointer.lstrip("/"): e.detail for e in exc.errors}
    if not errors:
        errors["_"] = exc.detail
    return errors


def _local_path(target: str | None) -> str:
    # Only a path on this site: never "//evil.example" or "https://...".
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/components"


def _base_url(request: Request, settings: Settings) -> str:
    return settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")


# ---- sign in / out --------------------------------------------------------------------


@router.get("/")
def home(_visitor: VisitorDep) -> RedirectResponse:
    return _see_other("/components")


def _sign_in_page(
    request: Request,
    settings: Settings,
    *,
    next_url: str,
    username: str = "",
    error: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    token = secrets.token_urlsafe(32)
    response = r.render(
        request,
        "sign_in.html",
        {"next": next_url, "username": username, "error": error, "csrf_token": token},
        status_code=status_code,
        headers=headers,
    )
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request, settings),
        path="/sign-in",
    )
    return response


@router.get("/sign-in")
def sign_in_form(
    request: Request, session: SessionDep, settings: SettingsDep, next: str = "/components"
) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and accounts.web_session_user(session, settings.secret, cookie) is not None:
        return _see_other(_local_path(next))
    return _sign_in_page(request, settings, next_url=_local_path(next))


@router.post("/sign-in")
def sign_in(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Field = "",
    password: Field = "",
    csrf_token: Field = "",
    next: Field = "/components",
) -> Response:
    next_url = _local_path(next)
    throttle: SignInThrottle = request.app.state.sign_in_throttle
    address = request.client.host if request.client else "unknown"
    if not tokens_match(csrf_token, request.cookies.get(SIGN_IN_COOKIE, "")):
        return _sign_in_page(
            request,
            settings,
            next_url=next_url,
            username=username,
            error="The sign-in form expired. Please try again.",
            status_code=403,
        )
    wait = throttle.retry_after(address, username)
    if wait is not None:
        return _sign_in_page(
            request,
            settings,
            next_url=next_url,
            username=username,
            error=f"Too many failed sign-in attempts. Try again in {wait} seconds.",
            status_code=429,
            headers={"retry-after": str(wait)},
        )
    user = accounts.check_password(session, username, password)
    if user is None:
        throttle.failed(address, username)
        return _sign_in_page(
            request,
            settings,
            next_url=next_url,
            username=username,
            error="Wrong username or password.",
            status_code=401,
        )
    throttle.succeeded(username)
    new = accounts.start_web_session(session, settings.secret, user)
    response = _see_other(next_url)
    response.set_cookie(
        SESSION_COOKIE,
        new.cookie,
        max_age=int(accounts.WEB_SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request, settings),
        path="/",
    )
    response.delete_cookie(SIGN_IN_COOKIE, path="/sign-in")
    return response


@router.post("/sign-out")
def sign_out(
    request: Request, session: SessionDep, settings: SettingsDep, _visitor: FormVisitor
) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        accounts.end_web_session(session, settings.secret, cookie)
    response = _see_other("/sign-in")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ---- components -----------------------------------------------------------------------


def _components_page(
    request: Request,
    session: Session,
    settings: Settings,
    visitor: Visitor,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    q = request.query_params
    filters = {k: q.get(k, "").strip() for k in ("q", "kind", "ciMode")}
    page = components.listing(
        session,
        kind=filters["kind"] or None,
        ci_mode=filters["ciMode"] or None,
        query=filters["q"] or None,
        cursor=q.get("cursor") or None,
        limit=50,
    )
    latest = builds.latest(
        session, [c.id for c in page.items], utcnow(), settings.build_inactivity_timeout
    )
    next_url = None
    if page.next_cursor:
        next_url = "/components?" + urlencode({**filters, "cursor": page.next_cursor})
    return r.render(
        request,
        "components.html",
        {
            "visitor": visitor,
            "components": page.items,
            "latest": latest,
            "filters": filters,
            "filtered": any(filters.values()) or bool(q.get("cursor")),
            "next_url": next_url,
            "kinds": components.KINDS,
            "form": form or {"id": "", "name": "", "kind": "application-component"},
            "errors": errors or {},
            "notice": NOTICES.get(q.get("done", "")),
        },
        status_code=status_code,
    )


@router.get("/components")
def components_list(
    request: Request, session: SessionDep, settings: SettingsDep, visitor: VisitorDep
) -> Response:
    return _components_page(request, session, settings, visitor)


@router.post("/components")
def components_create(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    visitor: EditorForm,
    id: Field = "",
    name: Field = "",
    kind: Field = "",
) -> Response:
    form = {"id": id.strip(), "name": name, "kind": kind}
    try:
        component = components.create(session, form["id"], name.strip() or None, kind)
    except ExtciError as exc:
        errors = _field_errors(exc)
        if exc.status == 409:
            errors = {"id": exc.detail}
        session.rollback()
        return _components_page(
            request, session, settings, visitor, form=form, errors=errors, status_code=exc.status
        )
    return _see_other(f"/components/{component.id}?done=created")


# ---- one component ----------------------------------------------------------------------


def _history_filters(request: Request) -> dict[str, str]:
    q = request.query_params
    return {k: q.get(k, "").strip() for k in ("status", "branch")}


def _component_context(
    request: Request, session: Session, settings: Settings, visitor: Visitor, component_id: str
) -> dict[str, Any]:
    component = components.get(session, component_id)
    filters = _history_filters(request)
    cursor = request.query_params.get("cursor") or None
    now = utcnow()
    history = builds.history(
        session,
        component_id,
        filters=HistoryFilter(status=filters["status"] or None, branch=filters["branch"] or None),
        now=now,
        timeout=settings.build_inactivity_timeout,
        cursor=cursor,
        limit=HISTORY_PAGE,
    )
    base = f"/components/{component.id}"
    active = {k: v for k, v in filters.items() if v}
    live_query = urlencode({**active, **({"cursor": cursor} if cursor else {}), "fragment": "1"})
    return {
        "visitor": visitor,
        "component": component,
        "keys": [KeyOut.of(k) for k in keys.listing(session, component_id)],
        "history": history.items,
        "filters": filters,
        "statuses": state.STATUSES,
        "older_url": (
            f"{base}?{urlencode({**active, 'cursor': history.next_cursor})}#history"
            if history.next_cursor
            else None
        ),
        "newest_url": f"{base}?{urlencode(active)}#history" if cursor else None,
        "live_src": f"{base}?{live_query}",
        "webhook_url": _base_url(request, settings) + "/ci/webhook",
        "notice": NOTICES.get(request.query_params.get("done", "")),
        "key_values": {"name": "", "expires": ""},
        "key_errors": {},
        "new_key": None,
    }


@router.get("/components/{component_id}")
def component_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    visitor: VisitorDep,
    component_id: str,
    fragment: str = "",
) -> Response:
    context = _component_context(request, session, settings, visitor, component_id)
    return r.render(request, "_history.html" if fragment else "component.html", context)


@router.get("/components/{component_id}/ci-mode")
def ci_mode_confirm(
    request: Request, session: SessionDep, visitor: VisitorDep, component_id: str
) -> Response:
    """The confirmation as a page of its own, for browsers without JavaScript."""
    accounts.require_role(visitor.user, "editor")
    component = components.get(session, component_id)
    return r.render(request, "confirm_mode.html", {"visitor": visitor, "component": component})


@router.post("/components/{component_id}/ci-mode")
def ci_mode_switch(
    session: SessionDep, visitor: EditorForm, component_id: str, mode: Field = ""
) -> Response:
    component = components.set_ci_mode(session, component_id, mode)
    return _see_other(f"/components/{component.id}?done={component.ci_mode}")


@router.get("/components/{component_id}/keys/new")
def key_new(
    request: Request, session: SessionDep, visitor: VisitorDep, component_id: str
) -> Response:
    accounts.require_role(visitor.user, "editor")
    component = components.get(session, component_id)
    return r.render(
        request,
        "key_new.html",
        {"visitor": visitor, "component": component, "key_values": {}, "key_errors": {}},
    )


def _expiry(text: str) -> datetime | None:
    """A date from the form: the key works through that whole day (UTC)."""
    if not text.strip():
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed(
            "Invalid expiry date.", errors=[FieldError("/expiresAt", "must be a date")]
        ) from None
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


@router.post("/components/{component_id}/keys")
def key_create(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    visitor: EditorForm,
    component_id: str,
    name: Field = "",
    expires: Field = "",
) -> Response:
    try:
        new = keys.create(
            session,
            settings.secret,
            component_id,
            name=name,
            expires_at=_expiry(expires),
            created_by=visitor.user.username,
        )
    except ValidationFailed as exc:
        session.rollback()
        context = _component_context(request, session, settings, visitor, component_id)
        errors = _field_errors(exc)
        context["key_errors"] = {"name": errors.get("name"), "expires": errors.get("expiresAt")}
        context["key_values"] = {"name": name, "expires": expires}
        return r.render(request, "component.html", context, status_code=400)
    session.flush()
    context = _component_context(request, session, settings, visitor, component_id)
    context["new_key"] = {"secret": new.secret, "name": new.key.name}
    # Shown once: this response is the only place the secret ever appears.
    return r.render(request, "component.html", context)


@router.post("/components/{component_id}/keys/{key_id}/suspend")
def key_suspend(session: SessionDep, _v: EditorForm, component_id: str, key_id: int) -> Response:
    keys.suspend(session, component_id, key_id)
    return _see_other(f"/components/{component_id}?done=suspended#keys")


@router.post("/components/{component_id}/keys/{key_id}/resume")
def key_resume(session: SessionDep, _v: EditorForm, component_id: str, key_id: int) -> Response:
    keys.resume(session, component_id, key_id)
    return _see_other(f"/components/{component_id}?done=resumed#keys")


@router.get("/components/{component_id}/keys/{key_id}/delete")
def key_delete_confirm(
    request: Request, session: SessionDep, visitor: VisitorDep, component_id: str, key_id: int
) -> Response:
    accounts.require_role(visitor.user, "editor")
    key = KeyOut.of(keys.get(session, component_id, key_id))
    component = components.get(session, component_id)
    return r.render(
        request, "confirm_delete.html", {"visitor": visitor, "component": component, "key": key}
    )


@router.post("/components/{component_id}/keys/{key_id}/delete")
def key_delete(session: SessionDep, _v: EditorForm, component_id: str, key_id: int) -> Response:
    keys.delete(session, component_id, key_id)
    return _see_other(f"/components/{component_id}?done=deleted#keys")


# ---- builds ---------------------------------------------------------------------------


@router.get("/components/{component_id}/builds/{pipeline_id:path}")
def build_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    visitor: VisitorDep,
    component_id: str,
    pipeline_id: str,
    fragment: str = "",
) -> Response:
    detail = builds.detail(
        session,
        component_id,
        pipeline_id,
        now=utcnow(),
        timeout=settings.build_inactivity_timeout,
    )
    groups: dict[str, list[dict[str, Any]]] = {}
    for result in detail.results:
        groups.setdefault(result.type, []).append({**result.fields, "_at": result.received_at})
    context = {
        "visitor": visitor,
        "component": components.get(session, component_id),
        "detail": detail,
        "build": detail.view.build,
        "status": detail.view.status,
        "groups": groups,
        "live_src": f"/components/{component_id}/builds/{quote(pipeline_id, safe='')}?fragment=1",
    }
    return r.render(request, "_build.html" if fragment else "build.html", context)


# ---- live updates ---------------------------------------------------------------------


@router.get("/components/{component_id}/live")
async def live(request: Request, _visitor: VisitorDep, component_id: str) -> Response:
    """Server-sent events: one ``build`` event per change of this component's builds."""
    broadcaster: Broadcaster = request.app.state.broadcaster
    subscription = broadcaster.subscribe(component_id)  # before the first byte: no gap

    async def stream() -> AsyncIterator[str]:
        try:
            yield "retry: 1000\n: connected\n\n"
            # "ready" once changes from other processes reach us too (LISTEN is up).
            await broadcaster.ready(timeout=3.0)
            yield "event: ready\ndata: {}\n\n"
            while True:
                try:
                    change = await asyncio.wait_for(subscription.queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if change is None:
                    return
                yield f"event: build\ndata: {change.as_json()}\n\n"
        finally:
            broadcaster.unsubscribe(subscription)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )


# ---- errors, installation -------------------------------------------------------------


def _is_page(request: Request) -> bool:
    return not request.url.path.startswith(NON_PAGE_PREFIXES)


def error_page(request: Request, status: int, title: str, detail: str) -> Response:
    return r.render(
        request,
        "error.html",
        {"visitor": None, "status": status, "title": title, "detail": detail},
        status_code=status,
    )


Handler = Callable[[Request, Exception], Awaitable[Response]]


def _page_errors(original: Handler) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        if not _is_page(request):
            return await original(request, exc)
        if isinstance(exc, ExtciError):
            return error_page(request, exc.status, exc.title, exc.detail)
        if isinstance(exc, StarletteHTTPException):
            title = "Not found" if exc.status_code == 404 else "Request refused"
            return error_page(request, exc.status_code, title, str(exc.detail))
        return error_page(request, 400, "Bad request", "The address or form is not valid.")

    return handle


async def _sign_in_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    return _see_other("/sign-in?" + urlencode({"next": exc.next_url}))


def install(app: FastAPI) -> None:
    runtime = app.state.runtime
    broadcaster = Broadcaster(runtime.settings.resolved_database_url)
    app.state.broadcaster = broadcaster
    app.state.sign_in_throttle = SignInThrottle()
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=r.STATIC), name="static")
    for kind in (ExtciError, RequestValidationError, StarletteHTTPException):
        original = app.exception_handlers[kind]
        app.add_exception_handler(kind, _page_errors(original))  # type: ignore[arg-type]
    app.add_exception_handler(SignInRequired, _sign_in_required)

    previous = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with previous(a) as maybe_state:
            broadcaster.start()
            try:
                yield maybe_state
            finally:
                await broadcaster.aclose()

    app.router.lifespan_context = lifespan
