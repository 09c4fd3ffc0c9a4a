"""Small helpers every page module shares: redirects, form fields, notices."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse

from extci.components.kinds import CiMode
from extci.config import Settings
from extci.errors import ExtciError
from extci.schemas import Text

# Every form field is Text: a lone surrogate (a multipart part decoded with a charset such
# as unicode_escape or utf-7) is a 400, never a 500 from the database driver.
Field = Annotated[Text, Form()]

# What a page says after a redirect with ``?done=<key>``.
NOTICES = {
    "created": "Component created.",
    CiMode.EXTERNAL: "Switched to External CI: builds now come from CI events.",
    CiMode.PLATFORM: "Switched back to platform builds.",
    "suspended": "CI key suspended: the webhook refuses it until it is resumed.",
    "resumed": "CI key resumed.",
    "deleted": "CI key deleted.",
    "user-deactivated": "User deactivated: their tokens are refused and their sessions ended.",
    "user-activated": "User activated: they can sign in and use their tokens again.",
    "token-deleted": "Token deleted.",
}


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def field_errors(exc: ExtciError) -> dict[str, str]:
    """Problem pointers (``/id``) to form field names (``id``); the rest goes under ``_``."""
    errors = {e.pointer.lstrip("/"): e.detail for e in exc.errors}
    if not errors:
        errors["_"] = exc.detail
    return errors


def local_path(target: str | None) -> str:
    # Only a path on this site: never "//evil.example" or "https://...".
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/components"


def base_url(request: Request, settings: Settings) -> str:
    return settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
