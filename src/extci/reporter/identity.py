"""The credential each event is sent with: the CI key, or keyless an OIDC identity token.

GitLab hands the token over in a variable (``id_tokens: EXTCI_ID_TOKEN: aud: extci``);
GitHub Actions has the job ask for it (``ACTIONS_ID_TOKEN_REQUEST_URL`` with the bearer
``ACTIONS_ID_TOKEN_REQUEST_TOKEN``, present when the job has ``permissions: id-token:
write``), for the audience the component's trust policy expects (``EXTCI_OIDC_AUDIENCE``,
default ``extci``). The token goes in ``Authorization: Bearer``, and the component in
``X-Extci-Component`` (when several components trust the same pipeline, it says which).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

from extci.reporter.config import Settings
from extci.reporter.errors import ExitCode, ReporterError

MAX_ANSWER = 64 * 1024


def github_id_token(request_url: str, bearer: str, audience: str, timeout: float) -> str:
    separator = "&" if "?" in request_url else "?"
    url = f"{request_url}{separator}audience={urllib.parse.quote(audience, safe='')}"
    request = urllib.request.Request(  # noqa: S310 - the URL GitHub's runner gives the job
        url, headers={"Authorization": f"Bearer {bearer}", "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            document = json.loads(answer.read(MAX_ANSWER))
    except (OSError, urllib.error.URLError, ValueError) as error:
        raise ReporterError(
            f"cannot get an OIDC identity token from GitHub Actions: {error}",
            ExitCode.UNAVAILABLE,
        ) from None
    token = document.get("value") if isinstance(document, dict) else None
    if not isinstance(token, str) or not token:
        raise ReporterError("GitHub Actions answered no identity token", ExitCode.UNAVAILABLE)
    return token


def credential_headers(settings: Settings) -> dict[str, str]:
    """The headers that authenticate one event (the token is asked for once per call of
    the reporter: GitHub's tokens last minutes, a reporter call seconds)."""
    if settings.ci_key:
        return {"X-Codenow-Api-Key": settings.ci_key}
    token = settings.id_token
    if token is None and settings.oidc_request is not None:
        url, bearer = settings.oidc_request
        token = github_id_token(url, bearer, settings.audience, settings.policy.timeout)
    if not token:
        raise ReporterError(
            "missing configuration: set EXTCI_CI_KEY, or EXTCI_ID_TOKEN for keyless", ExitCode.USAGE
        )
    headers = {"Authorization": f"Bearer {token}"}
    if settings.component:
        headers["X-Extci-Component"] = settings.component
    return headers
