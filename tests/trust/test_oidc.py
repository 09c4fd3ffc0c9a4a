"""Keyless CI authentication: OIDC identity tokens from a real local issuer, checked
against the component's trust policy; every refused token gets one and the same 401."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from extci.config import Settings
from extci.trust.oidc import INVALID_TOKEN, MIN_REFRESH
from tests.support import events as ev
from tests.support.api import Api
from tests.support.oidc_issuer import Issuer
from tests.support.problems import problem

GITHUB_CLAIMS = {"repository": "acme/orders", "ref": "refs/heads/main"}


def editor(api: Api) -> dict[str, str]:
    """An editor's token, made once per test's app."""
    headers: dict[str, str] | None = getattr(api, "editor_headers", None)
    if headers is None:
        headers = api.token("editor")
        api.editor_headers = headers  # type: ignore[attr-defined]
    return headers


def trust(api: Api, issuer: Issuer, component: str = "orders-service", **extra: Any) -> int:
    body = {"name": "github main", "issuer": issuer.url, "audience": "extci",
            "claims": GITHUB_CLAIMS, **extra}  # fmt: skip
    r = api.client.post(
        f"/api/v1/components/{component}/trust-policies", json=body, headers=editor(api)
    )
    assert r.status_code == 201, r.text
    policy_id: int = r.json()["id"]
    return policy_id


def send(api: Api, event: dict[str, Any], token: str, **headers: str) -> Any:
    return api.send(event, None, {"Authorization": f"Bearer {token}", **headers})


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_trusted_token_reports_like_a_ci_key(oidc_api: Api, issuer: Issuer) -> None:
    api = oidc_api
    api.component("orders-service")
    policy_id = trust(api, issuer)
    token = issuer.token(**GITHUB_CLAIMS)

    r = send(api, ev.start("run-1", "orders-service"), token)
    assert r.status_code == 200, r.text
    assert r.json() == {"pipelineId": "run-1", "componentId": "orders-service",
                        "buildStatus": "BUILDING", "duplicate": False}  # fmt: skip
    assert r.headers["x-ratelimit-limit"] == "5"
    assert r.headers["x-ratelimit-remaining"] == "4"
    assert send(api, ev.result("run-1", *ev.deployable()), token).status_code == 200
    assert send(api, ev.end("run-1"), token).json()["buildStatus"] == "SUCCESSFUL"
    # the same answers as a key of that component: another component is refused (403)
    api.component("billing")
    other = send(api, ev.start("run-2", "billing"), token)
    assert other.status_code == 403
    # the same budget: five requests a minute in this app
    assert send(api, ev.end("run-1"), token).json()["duplicate"] is True
    limited = send(api, ev.end("run-1"), token)
    assert limited.status_code == 429
    assert limited.headers["retry-after"]

    policy = api.client.get(
        f"/api/v1/components/orders-service/trust-policies/{policy_id}", headers=api.token()
    ).json()
    assert policy["lastUsedAt"] is not None


def test_every_refused_token_gets_the_same_401(oidc_api: Api, issuer: Issuer) -> None:
    api = oidc_api
    api.component("orders-service")
    trust(api, issuer)
    now = int(time.time())
    public_pem = (
        issuer.keys["k1"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    claims = {"iss": issuer.url, "aud": "extci", "iat": now, "exp": now + 300, **GITHUB_CLAIMS}
    refused = {
        "expired": issuer.token(iat=now - 600, nbf=now - 600, exp=now - 120, **GITHUB_CLAIMS),
        "not yet valid": issuer.token(nbf=now + 600, **GITHUB_CLAIMS),
        "issued in the future": issuer.token(iat=now + 600, **GITHUB_CLAIMS),
        "wrong audience": issuer.token(aud="someone-else", **GITHUB_CLAIMS),
        "wrong issuer": issuer.token(
            iss="https://token.actions.githubusercontent.com", **GITHUB_CLAIMS
        ),
        "wrong repository": issuer.token(repository="evil/orders", ref="refs/heads/main"),
        "wrong ref": issuer.token(repository="acme/orders", ref="refs/heads/feature"),
        "claim missing": issuer.token(repository="acme/orders"),
        "no exp": issuer.token(exp=None, **GITHUB_CLAIMS),
        "unknown kid": jwt.encode(claims, issuer.keys["k1"], "RS256", headers={"kid": "k9"}),
        "alg none": f"{b64({'alg': 'none', 'kid': 'k1', 'typ': 'JWT'})}.{b64(claims)}.",
        "HS256 with the public key": _hs256(claims, public_pem),
        "tampered payload": _tamper(issuer.token(**GITHUB_CLAIMS)),
        "garbage": "not-a-jwt",
        "empty": "",
    }
    bodies = set()
    for reason, token in refused.items():
        r = send(api, ev.start(f"run-{reason}", "orders-service"), token)
        assert r.status_code == 401, (reason, r.text)
        assert r.json()["detail"] == INVALID_TOKEN, reason
        # One body for every failure, but for the request id each answer carries.
        bodies.add(r.content.replace(r.json()["requestId"].encode(), b"<id>"))
    assert len(bodies) == 1, bodies
    # Basic auth, or a bearer with a CI key's header beside it: the key decides
    assert api.send(ev.start("run-x", "orders-service"), None,
                    {"Authorization": "Basic dTpw"}).status_code == 401  # fmt: skip
    r = api.send(ev.start("run-y", "orders-service"), api.key("orders-service"),
                 {"Authorization": "Bearer not-a-jwt"})  # fmt: skip
    assert r.status_code == 200
    assert api.client.get("/api/v1/audit", headers=api.token()).status_code == 200


def _hs256(claims: dict[str, Any], secret: bytes) -> str:
    """An HS256 token whose HMAC key is the issuer's public key (PyJWT itself refuses to
    make one: the classic algorithm-confusion forgery, built by hand)."""
    import hashlib
    import hmac

    signing_input = f"{b64({'alg': 'HS256', 'kid': 'k1', 'typ': 'JWT'})}.{b64(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def _tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["repository"] = "acme/orders"
    claims["ref"] = "refs/heads/release"
    return f"{header}.{b64(claims)}.{signature}"


def test_a_rotated_key_is_fetched_once_and_unknown_kids_do_not_hammer_the_issuer(
    oidc_api: Api, issuer: Issuer
) -> None:
    api = oidc_api
    api.component("orders-service")
    trust(api, issuer)
    assert (
        send(api, ev.start("r-1", "orders-service"), issuer.token(**GITHUB_CLAIMS)).status_code
        == 200
    )
    fetches = issuer.fetches
    kid = f"k{len(issuer.keys) + 1}"  # the issuer is shared by the tests: a kid never seen
    issuer.rotate(kid)
    verifier = api.runtime.oidc
    assert verifier is not None
    verifier._issuers[issuer.url].fetched_at -= MIN_REFRESH  # the last fetch is old enough
    rotated = issuer.token(kid=kid, **GITHUB_CLAIMS)
    assert send(api, ev.start("r-2", "orders-service"), rotated).status_code == 200
    assert issuer.fetches == fetches + 1
    for n in range(3):  # made-up kids right after: refused from the cache, no fetch
        forged = jwt.encode({"iss": issuer.url}, issuer.keys["k1"], "RS256",
                            headers={"kid": f"made-up-{n}"})  # fmt: skip
        assert send(api, ev.start(f"r-x{n}", "orders-service"), forged).status_code == 401
    assert issuer.fetches == fetches + 1


def test_policies_of_several_components_need_the_component_named(
    oidc_api: Api, issuer: Issuer
) -> None:
    api = oidc_api
    for component in ("orders-service", "orders-worker"):
        api.component(component)
        trust(api, issuer, component)
    token = issuer.token(**GITHUB_CLAIMS)
    assert send(api, ev.start("m-1", "orders-worker"), token).status_code == 401
    named = send(
        api, ev.start("m-1", "orders-worker"), token, **{"X-Extci-Component": "orders-worker"}
    )
    assert named.status_code == 200, named.text


def test_a_deleted_policy_is_refused_at_once(oidc_api: Api, issuer: Issuer) -> None:
    api = oidc_api
    api.component("orders-service")
    policy_id = trust(api, issuer)
    token = issuer.token(**GITHUB_CLAIMS)
    assert send(api, ev.start("d-1", "orders-service"), token).status_code == 200
    r = api.client.delete(
        f"/api/v1/components/orders-service/trust-policies/{policy_id}",
        headers=editor(api),
    )
    assert r.status_code == 204
    refused = send(api, ev.end("d-1"), token)
    assert refused.status_code == 401
    assert refused.json()["detail"] == INVALID_TOKEN


def test_trust_policies_are_validated_and_for_editors(api: Api, issuer: Issuer) -> None:
    """Without the test-only setting (the ``api`` fixture), an http issuer is refused."""
    api.component("orders-service")
    url = "/api/v1/components/orders-service/trust-policies"
    good = {"name": "gh", "issuer": "https://token.actions.githubusercontent.com",
            "audience": "extci", "claims": GITHUB_CLAIMS}  # fmt: skip
    editor_headers = editor(api)
    cases = [
        ({**good, "issuer": issuer.url}, "/issuer"),
        ({**good, "issuer": "https://gitlab.example.org?x=1"}, "/issuer"),
        ({**good, "claims": {}}, "/claims"),
        ({**good, "claims": {"1bad": "x"}}, "/claims"),
        ({**good, "claims": {"ref": " "}}, "/claims"),
        ({**good, "audience": " "}, "/audience"),
    ]
    for body, pointer in cases:
        r = api.client.post(url, json=body, headers=editor_headers)
        assert r.status_code == 400, r.text
        assert any(e["pointer"].startswith(pointer) for e in r.json()["errors"]), r.text
    assert api.client.post(url, json=good, headers=api.token("viewer", "v")).status_code == 403
    created = api.client.post(url, json=good, headers=editor_headers)
    assert created.status_code == 201
    listed = api.client.get(url, headers=api.token("viewer", "v2")).json()["items"]
    assert [p["claims"] for p in listed] == [GITHUB_CLAIMS]
    audit = api.client.get("/api/v1/audit", headers=api.token("admin")).json()["items"]
    assert "trust-policy.created" in [a["action"] for a in audit]


def test_no_trust_policy_for_a_platform_mode_component(api: Api) -> None:
    api.component("orders-service", external=False)
    url = "/api/v1/components/orders-service/trust-policies"
    body = {"name": "gh", "issuer": "https://token.actions.githubusercontent.com",
            "audience": "extci", "claims": GITHUB_CLAIMS}  # fmt: skip
    refused = problem(api.client.post(url, json=body, headers=editor(api)), 409)
    assert refused["detail"] == (
        "Component 'orders-service' is built by the platform; switch it to External CI "
        "before trusting a CI's identity tokens."
    )
    assert api.client.get(url, headers=editor(api)).json()["items"] == []


def test_http_issuers_are_for_tests_only() -> None:
    with pytest.raises(ValueError, match="EXTCI_OIDC_ALLOW_HTTP_ISSUERS"):
        Settings(env="production", oidc_allow_http_issuers=True)
