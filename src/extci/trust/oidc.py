"""Verify an OIDC identity token against the component trust policies.

``Authorization: Bearer <token>`` on the webhook, when no CI key is sent. The token's
``iss`` picks the policies that name that issuer (only those issuers are ever contacted:
a token cannot make the server fetch an address of its choosing). The issuer's keys come
from its discovery document (``<issuer>/.well-known/openid-configuration``, whose
``issuer`` must be the issuer itself) and its ``jwks_uri``; they are cached for
:data:`JWKS_TTL` seconds, and fetched again when a token names an unknown ``kid`` (a key
rotation), at most once per :data:`MIN_REFRESH` seconds per issuer so that made-up kids
cannot turn the server into a load generator against the issuer.

The signature is checked with the algorithm of the issuer's key (never the one the token
asks for: ``alg: none`` and an HS256 token "signed" with the public key are refused), then
``exp``, ``nbf`` and ``iat`` with :data:`LEEWAY` seconds of clock skew, the issuer, and
the policy: its audience among ``aud`` and every claim condition exactly. The token then
stands for the matching policy's component, exactly as a CI key of that component does.

Everything here is synchronous and runs on a worker thread (signature checks cost CPU, the
policy look-up and the key fetches block); :meth:`OidcVerifier.authenticate` hops there
once per request.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

import jwt
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from extci.commit_hooks import on_commit_changing
from extci.db import unit_of_work
from extci.errors import ServiceUnavailable, Unauthorized
from extci.keys.service import AuthenticatedKey
from extci.trust import repository
from extci.trust.models import TrustPolicy

log = logging.getLogger("extci.oidc")

# One body for every refused token, so a caller learns nothing about why.
INVALID_TOKEN = "Missing or invalid identity token (Authorization: Bearer)."  # noqa: S105
LEEWAY = 30.0
JWKS_TTL = 600.0
MIN_REFRESH = 30.0
FETCH_TIMEOUT = 5.0
MAX_DOCUMENT_BYTES = 256 * 1024
MAX_TOKEN_LENGTH = 16 * 1024
MAX_CACHED_ISSUERS = 1_000
# Asymmetric algorithms only; which one applies is the issuer's key's, not the token's.
ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)

Fetch = Callable[[str], dict[str, Any]]


class TokenRefused(Exception):
    """Why a token was refused (logged at debug level, never told to the caller)."""


class IssuerUnreachable(Exception):
    pass


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is answered as the error it then is


_OPENER = urllib.request.build_opener(_NoRedirects)


def fetch_json(url: str) -> dict[str, Any]:
    """GET a small JSON document (discovery, JWKS); any failure is IssuerUnreachable."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with _OPENER.open(request, timeout=FETCH_TIMEOUT) as response:
            body = response.read(MAX_DOCUMENT_BYTES + 1)
    except (OSError, urllib.error.URLError, ValueError) as exc:
        raise IssuerUnreachable(f"{url}: {exc}") from None
    if len(body) > MAX_DOCUMENT_BYTES:
        raise IssuerUnreachable(f"{url}: larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        document = json.loads(body)
    except ValueError:
        raise IssuerUnreachable(f"{url}: not JSON") from None
    if not isinstance(document, dict):
        raise IssuerUnreachable(f"{url}: not a JSON object")
    return document


@dataclass
class _IssuerKeys:
    keys: dict[str, jwt.PyJWK] = field(default_factory=dict)
    fetched_at: float = float("-inf")
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class _Policy:
    id: int
    component_id: str
    audience: str
    claims: dict[str, str]


@dataclass(eq=False)
class OidcVerifier:
    """Turns a CI's OIDC token into the key of the component a trust policy names: the
    issuer's keys fetched (and refreshed) over ``fetch``, the policies read through
    ``sessions`` and kept ``policy_ttl`` seconds by ``clock``."""

    sessions: sessionmaker[Session]
    _: KW_ONLY
    allow_http: bool = False
    policy_ttl: float = 1.0
    fetch: Fetch = fetch_json
    clock: Callable[[], float] = time.monotonic
    # What it has learnt: neither given nor shown (repr).
    _issuers: dict[str, _IssuerKeys] = field(default_factory=dict, init=False, repr=False)
    _policies: dict[str, tuple[float, list[_Policy]]] = field(
        default_factory=dict, init=False, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    # ---- the webhook's entry point ---------------------------------------------------

    async def authenticate(self, token: str, component: str | None) -> AuthenticatedKey:
        """The identity behind ``token`` as a key of its component, or 401 (one body for
        every reason); 503 when the issuer's keys cannot be had at all."""
        try:
            return await run_in_threadpool(self.verify, token, component)
        except TokenRefused as refused:
            log.debug("identity token refused: %s", refused)
        except jwt.PyJWTError as error:
            log.debug("identity token refused: %s", error)
        except IssuerUnreachable as error:
            log.warning("OIDC issuer unreachable: %s", error)
            raise ServiceUnavailable(
                "The identity token's issuer cannot be reached to check it; retry shortly.",
                headers={"retry-after": "5"},
            ) from None
        raise Unauthorized(INVALID_TOKEN)

    def verify(self, token: str, component: str | None) -> AuthenticatedKey:
        if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
            raise TokenRefused("empty, too long or not ASCII")
        header = jwt.get_unverified_header(token)
        kid = header.get("kid")
        if header.get("alg") not in ALGORITHMS or not isinstance(kid, str):
            raise TokenRefused(f"alg {header.get('alg')!r} or kid {kid!r} not acceptable")
        unverified = jwt.decode(token, options={"verify_signature": False})
        issuer = unverified.get("iss")
        if not isinstance(issuer, str):
            raise TokenRefused("no iss")
        policies = [
            p for p in self.policies_for(issuer) if component is None or p.component_id == component
        ]
        if not policies:
            raise TokenRefused(f"no trust policy names the issuer {issuer!r}")
        if not self.allowed_url(issuer):
            raise TokenRefused(f"issuer {issuer!r} is not https")
        key = self.key(issuer, kid)
        claims = jwt.decode(
            token,
            key=key,
            algorithms=[key.algorithm_name],
            issuer=issuer,
            leeway=LEEWAY,
            options={"require": ["exp", "iat", "iss", "aud"], "verify_aud": False},
        )
        matched = [p for p in policies if _satisfies(p, claims)]
        if len({p.component_id for p in matched}) != 1:
            raise TokenRefused(f"{len(matched)} policies of several components match")
        policy = min(matched, key=lambda p: p.id)
        return AuthenticatedKey(-policy.id, policy.component_id)

    # ---- policies ----------------------------------------------------------------------

    def policies_for(self, issuer: str) -> list[_Policy]:
        now = self.clock()
        cached = self._policies.get(issuer)
        if cached is not None and now - cached[0] < self.policy_ttl:
            return cached[1]
        with unit_of_work(self.sessions) as session:
            rows = repository.for_issuer(session, issuer)
        policies = [_Policy(r.id, r.component_id, r.audience, dict(r.claims)) for r in rows]
        with self._lock:
            if len(self._policies) >= MAX_CACHED_ISSUERS:
                self._policies = {}
            self._policies[issuer] = (now, policies)
        return policies

    def forget_policies(self) -> None:
        with self._lock:
            self._policies = {}

    # ---- the issuer's keys ---------------------------------------------------------------

    def allowed_url(self, url: str) -> bool:
        scheme = urllib.parse.urlsplit(url).scheme
        return scheme == "https" or (self.allow_http and scheme == "http")

    def key(self, issuer: str, kid: str) -> jwt.PyJWK:
        with self._lock:
            keys = self._issuers.get(issuer)
            if keys is None:
                if len(self._issuers) >= MAX_CACHED_ISSUERS:
                    self._issuers = {}
                keys = self._issuers[issuer] = _IssuerKeys()
        with keys.lock:  # one fetch per issuer at a time; the others wait for its result
            age = self.clock() - keys.fetched_at
            if age >= JWKS_TTL or (kid not in keys.keys and age >= MIN_REFRESH):
                try:
                    keys.keys = self._fetch_keys(issuer)
                except IssuerUnreachable:
                    if not keys.keys:
                        raise
                    log.warning("OIDC issuer %s unreachable; its cached keys are used", issuer)
                keys.fetched_at = self.clock()
            found = keys.keys.get(kid)
        if found is None:
            raise TokenRefused(f"unknown kid {kid!r} for {issuer!r}")
        return found

    def _fetch_keys(self, issuer: str) -> dict[str, jwt.PyJWK]:
        discovery = self.fetch(issuer.rstrip("/") + "/.well-known/openid-configuration")
        if discovery.get("issuer") != issuer:
            raise IssuerUnreachable(f"{issuer}: the discovery document names another issuer")
        jwks_uri = discovery.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not self.allowed_url(jwks_uri):
            raise IssuerUnreachable(f"{issuer}: no https jwks_uri")
        jwks = self.fetch(jwks_uri).get("keys")
        if not isinstance(jwks, list):
            raise IssuerUnreachable(f"{jwks_uri}: no keys")
        return _usable_keys(jwks)


def _usable_keys(jwks: Sequence[Any]) -> dict[str, jwt.PyJWK]:
    """Signing keys by kid; symmetric, encryption-only and unreadable keys are skipped."""
    keys: dict[str, jwt.PyJWK] = {}
    for data in jwks:
        if not isinstance(data, dict) or not isinstance(data.get("kid"), str):
            continue
        if data.get("use", "sig") != "sig" or data.get("kty") == "oct":
            continue
        try:
            key = jwt.PyJWK(data)
        except jwt.PyJWTError:
            continue
        if key.algorithm_name in ALGORITHMS:
            keys[data["kid"]] = key
    return keys


def _satisfies(policy: _Policy, claims: dict[str, Any]) -> bool:
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or policy.audience not in audiences:
        return False
    return all(
        isinstance(claims.get(name), str) and claims[name] == expected
        for name, expected in policy.claims.items()
    )


def invalidate_on_commit(sessions: sessionmaker[Session], verifier: OidcVerifier) -> None:
    """Forget cached policies when this process commits a change to one."""

    on_commit_changing(sessions, TrustPolicy, verifier.forget_policies)
