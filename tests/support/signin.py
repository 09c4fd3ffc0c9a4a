"""Signing in to a live server over plain HTTP, as a browser's form post would."""

from __future__ import annotations

import re

import httpx2 as httpx

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SIGN_IN_COOKIE = "extci_sign_in"
SESSION_COOKIE = "extci_session"


def csrf_token(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


def sign_in_form(client: httpx.Client) -> str:
    """Fetch the form (which sets its cookie on ``client``) and return its CSRF token."""
    page = client.get("/sign-in")
    assert page.status_code == 200, page.text
    return csrf_token(page.text)


def post_sign_in(
    client: httpx.Client,
    token: str,
    username: str,
    password: str,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return client.post(
        "/sign-in",
        data={"username": username, "password": password, "csrf_token": token},
        headers=headers,
        follow_redirects=False,
    )


def signed_in_client(url: str, username: str, password: str) -> httpx.Client:
    """A client holding a fresh web session of ``username``."""
    client = httpx.Client(base_url=url, timeout=30)
    response = post_sign_in(client, sign_in_form(client), username, password)
    assert response.status_code == 303, response.text
    assert client.cookies.get(SESSION_COOKIE)
    return client
