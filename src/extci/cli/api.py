"""The one interface every command uses: a JSON API call, answered remotely or locally.

``call(method, path, query=, body=)`` takes a path under ``/api/v1`` and returns the JSON
document the API answers (None for 204), or raises :class:`ApiError` with its problem
details. :class:`RemoteApi` sends it to a server with a personal access token, through the
reporter's standard-library HTTP client; ``extci.cli.local.LocalApi`` calls the very
endpoint functions the server routes it to, on the local database, and serialises their
answer with the same response models. So a command prints the same thing either way: it
only ever sees the API's documents.

This module imports the standard library only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from extci.cli.config import Server, configured_server
from extci.cli.errors import ApiError, CliError, ExitCode

Query = Mapping[str, str | int | bool | None]
PAGE_LIMIT = 200  # the API's largest page


class Api(Protocol):
    def call(
        self, method: str, path: str, *, query: Query | None = None, body: Any = None
    ) -> Any: ...

    def current_user(self) -> dict[str, Any] | None:
        """``/me`` on a server; None on the local database (the operator acts as ``cli:``)."""
        ...


def path(template: str, *values: str | int) -> str:
    """``path("/components/{}/builds/{}", c, p)``: each value percent-encoded as one
    segment, so a ``/`` or ``?`` in a pipeline id stays part of it."""
    import urllib.parse

    return template.format(*(urllib.parse.quote(str(v), safe="") for v in values))


def every(api: Api, route: str, query: Query | None = None) -> Iterator[Any]:
    """Every item of a list, following ``nextCursor`` page after page."""
    cursor: str | None = None
    while True:
        page = api.call(
            "GET", route, query={**(query or {}), "limit": PAGE_LIMIT, "cursor": cursor}
        )
        yield from page["items"]
        cursor = page.get("nextCursor")
        if not cursor:
            return


def _query_string(query: Query | None) -> str:
    import urllib.parse

    pairs = []
    for name, value in (query or {}).items():
        if value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        pairs.append((name, text))
    return ("?" + urllib.parse.urlencode(pairs)) if pairs else ""


class RemoteApi:
    """The server's ``/api/v1`` with a personal access token (Bearer)."""

    timeout = 30.0

    def __init__(self, server: Server) -> None:
        self.server = server

    def call(self, method: str, path: str, *, query: Query | None = None, body: Any = None) -> Any:
        import json

        from extci.reporter.transport import TLSError, exchange

        url = self.server.api + path + _query_string(query)
        headers = {"Accept": "application/json", "Authorization": f"Bearer {self.server.token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            status, reason, answer_headers, payload = exchange(
                url, headers, data, self.timeout, method
            )
        except TLSError as error:
            raise CliError(
                f"TLS failed with {self.server.url}: {error} (check the URL's scheme; for a "
                "private CA set SSL_CERT_FILE to its certificate)",
                ExitCode.UNAVAILABLE,
            ) from None
        except (TimeoutError, ConnectionError, OSError) as error:
            raise CliError(
                f"cannot reach {self.server.url}: {error or type(error).__name__} (is the server "
                "running and the URL right? check EXTCI_URL or extci login)",
                ExitCode.TEMPFAIL,
            ) from None
        if status == 204:
            return None
        if 300 <= status < 400:
            raise CliError(
                f"{url} redirected ({status}) to {answer_headers.get('location')}; "
                "use the final address as the server URL",
                ExitCode.PROTOCOL,
            )
        try:
            document = json.loads(payload) if payload else None
        except ValueError:
            document = None
        if 200 <= status < 300 and document is not None:
            return document
        if status >= 400 and isinstance(document, dict) and "status" in document:
            raise ApiError(document, headers=answer_headers, remote=self.server.url)
        if status >= 400 and status in (401, 403, 404, 429, 502, 503, 504):
            problem = {"status": status, "detail": f"{self.server.url} answered {status} {reason}"}
            raise ApiError(problem, headers=answer_headers, remote=self.server.url)
        raise CliError(
            f"{url} answered {status} {reason} without the API's JSON; is "
            f"{self.server.url} an extci server?",
            ExitCode.PROTOCOL,
        )

    def current_user(self) -> dict[str, Any]:
        user: dict[str, Any] = self.call("GET", "/me")
        return user


_opened: list[Api] = []


def server_installed() -> bool:
    """Whether this install has the server extra, which the local database needs (an install
    without it runs ``extci report`` and the commands against a server)."""
    try:
        import pydantic_settings  # noqa: F401
        import sqlalchemy  # noqa: F401
    except ModuleNotFoundError:
        return False
    return True


def connect() -> Api:
    """The configured server, else the local database (which needs the server extra)."""
    server = configured_server()
    if server is not None:
        return RemoteApi(server)
    if not server_installed():
        raise CliError(
            "no server configured: run 'extci login --server URL' (or set EXTCI_URL and "
            "EXTCI_TOKEN), or install extci with its server extra (extci[server], see the "
            "README) to work on its database",
            ExitCode.CONFIG,
        )
    from extci.cli.local import LocalApi

    api = LocalApi.open()
    _opened.append(api)
    return api


def close_all() -> None:
    while _opened:
        closing = _opened.pop()
        close = getattr(closing, "close", None)
        if close is not None:
            close()


def act_as(api: Api, username: str) -> Api:
    """The API acting for ``username`` where an endpoint acts for "the current user": on a
    server only the signed-in user themself; locally, any user."""
    as_user = getattr(api, "as_user", None)
    if as_user is not None:
        acting: Api = as_user(username)
        return acting
    me = api.current_user() or {}
    if str(me.get("username", "")).casefold() != username.casefold():
        raise CliError(
            f"a server creates personal access tokens only for the signed-in user "
            f"({me.get('username')}): log in as {username}, or run this on the server",
            ExitCode.NOPERM,
        )
    return api
