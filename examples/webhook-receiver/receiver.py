#!/usr/bin/env python3
"""A webhook receiver that deploys: verifies extci's Standard Webhooks signature, then runs
a deploy command for each ``build.deployable`` message. Standard library only.

    WEBHOOK_SECRET=whsec_... \
    DEPLOY_COMMAND='helm upgrade --install "$EXTCI_COMPONENT" "$EXTCI_CHART" \
        --version "$EXTCI_CHART_VERSION" --set image.tag="$EXTCI_IMAGE_TAG"' \
    python3 receiver.py --port 9000

The command runs with EXTCI_COMPONENT, EXTCI_VERSION, EXTCI_PIPELINE_ID, EXTCI_BRANCH,
EXTCI_COMMIT, EXTCI_IMAGE (repository/path:tag, @digest when one was sent),
EXTCI_IMAGE_TAG, EXTCI_IMAGE_DIGEST, EXTCI_CHART (repository/path), EXTCI_CHART_VERSION in
its environment. A message seen before (same webhook-id: a retry) is acknowledged and not
deployed twice.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import subprocess
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 300
SECRET = base64.b64decode(os.environ["WEBHOOK_SECRET"].removeprefix("whsec_"))
DEPLOY_COMMAND = os.environ.get("DEPLOY_COMMAND", 'echo "would deploy $EXTCI_IMAGE"')
seen: set[str] = set()  # a real receiver keeps these in its database


def verified(headers: dict[str, str], body: bytes) -> bool:
    """The Standard Webhooks check: HMAC-SHA256 of "id.timestamp.body", base64, "v1,"."""
    msg_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    if not msg_id or not stamp.isdigit() or abs(time.time() - int(stamp)) > TOLERANCE_SECONDS:
        return False
    signed = f"{msg_id}.{stamp}.".encode() + body
    expected = "v1," + base64.b64encode(hmac.new(SECRET, signed, hashlib.sha256).digest()).decode()
    offered = headers.get("webhook-signature", "").split(" ")
    return any(hmac.compare_digest(expected, s) for s in offered)


def deploy_environment(data: dict) -> dict[str, str]:
    results = {r["type"]: r for r in data.get("results", [])}
    env = {
        "EXTCI_COMPONENT": data["componentId"],
        "EXTCI_VERSION": data["buildVersion"],
        "EXTCI_PIPELINE_ID": data["pipelineId"],
        "EXTCI_BRANCH": data.get("branch") or "",
        "EXTCI_COMMIT": data.get("commitSha") or "",
    }
    if "container" in results:
        c = results["container"]
        image = f"{c['repositoryUrl'].rstrip('/')}/{c['artifactPath']}"
        env["EXTCI_IMAGE_TAG"] = c["artifactVersion"]
        env["EXTCI_IMAGE_DIGEST"] = c.get("digest", "")
        env["EXTCI_IMAGE"] = f"{image}:{c['artifactVersion']}" + (
            f"@{c['digest']}" if c.get("digest") else ""
        )
    if "helm" in results:
        h = results["helm"]
        env["EXTCI_CHART"] = f"{h['repositoryUrl'].rstrip('/')}/{h['artifactPath']}"
        env["EXTCI_CHART_VERSION"] = h["artifactVersion"]
    return env


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        if not verified(headers, body):
            self.answer(401, "signature does not verify")
            return
        message = json.loads(body)
        if headers["webhook-id"] in seen:
            self.answer(200, "seen before")
            return
        if message["type"] == "build.deployable":
            env = {**os.environ, **deploy_environment(message["data"])}
            done = subprocess.run(DEPLOY_COMMAND, shell=True, env=env, check=False)  # noqa: S602
            if done.returncode != 0:
                self.answer(500, f"deploy failed ({done.returncode})")  # extci retries
                return
        seen.add(headers["webhook-id"])
        self.answer(200, "ok")

    def answer(self, status: int, text: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()
    ThreadingHTTPServer((args.host, args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
