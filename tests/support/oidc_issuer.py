"""A real OIDC issuer on 127.0.0.1 for the tests: discovery document, JWKS and signing
keys, and GitHub Actions' token request endpoint (``/token?audience=…``)."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

REQUEST_BEARER = "runner-request-token"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Issuer:
    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {"k1": new_key()}
        self.published: list[str] = ["k1"]  # the kids the JWKS shows
        self.fetches = 0  # JWKS requests served
        self.claims: dict[str, Any] = {}  # what /token puts in every token it mints
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def rotate(self, kid: str) -> None:
        """A new signing key, published beside the old ones."""
        self.keys[kid] = new_key()
        self.published.append(kid)

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid in self.published:
            jwk = RSAAlgorithm.to_jwk(self.keys[kid].public_key(), as_dict=True)
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}

    def token(self, *, kid: str = "k1", lifetime: int = 300, **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": self.url, "aud": "extci", "iat": now, "nbf": now,
                   "exp": now + lifetime, "sub": "repo:acme/orders:ref:refs/heads/main",
                   **self.claims, **claims}  # fmt: skip
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, self.keys[kid], algorithm="RS256", headers={"kid": kid})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, document: Any) -> None:
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                if path == "/.well-known/openid-configuration":
                    self._json(200, {"issuer": issuer.url, "jwks_uri": issuer.url + "/jwks"})
                elif path == "/jwks":
                    issuer.fetches += 1
                    self._json(200, issuer.jwks())
                elif path == "/token":
                    if self.headers.get("Authorization") != f"Bearer {REQUEST_BEARER}":
                        self._json(401, {"message": "bad bearer"})
                        return
                    audience = urllib.parse.parse_qs(query).get("audience", ["extci"])[0]
                    self._json(200, {"value": issuer.token(aud=audience)})
                else:
                    self._json(404, {})

        return Handler

    def start(self) -> Issuer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def running_issuer() -> Iterator[Issuer]:
    issuer = Issuer().start()
    try:
        yield issuer
    finally:
        issuer.stop()
