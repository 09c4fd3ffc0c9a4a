"""A real ``extci serve`` process on a free port with its own SQLite file (or a database
given), as a new user would run it; set up through the real CLI and JSON API. The API,
CLI, fault and browser tests all start their servers with this one class."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import httpx2 as httpx

from tests.support import events as ev

EXTCI = shutil.which("extci", path=str(Path(sys.executable).parent)) or "extci"

# The browser tests' users (``LiveServer.create_users``), one per role, and their server's
# secret key (given, so a test's CLI commands and its servers need no key file between them).
PASSWORDS = {"admin": "admin-password-1", "editor": "editor-password-1", "viewer": "viewer-pass-1"}
BROWSER_SECRET = "browser-test-secret-key-long-enough-for-hmac-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LiveServer:
    """One ``extci serve`` process; it can be killed and started again on the same port,
    data directory and database, as a supervisor (systemd, Kubernetes) would."""

    def __init__(
        self,
        data_dir: Path,
        *,
        extra_env: dict[str, str] | None = None,
        database_url: str | None = None,
        log_name: str = "server.log",
    ) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url or f"sqlite:///{data_dir / 'extci.db'}"
        self.base_env = {
            **os.environ,
            "EXTCI_DATA_DIR": str(data_dir),
            "EXTCI_DATABASE_URL": self.database_url,
            "EXTCI_CREATE_ADMIN": "false",
            **(extra_env or {}),
        }
        self.log_path = data_dir / log_name
        self.process: subprocess.Popen[bytes] | None = None
        self.token = ""

    @property
    def env(self) -> dict[str, str]:
        """Environment for subprocesses (the CLI, the reporter) pointing at this server."""
        return {**self.base_env, "EXTCI_URL": self.url}

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """Run an ``extci`` admin command against this server's database; return stdout."""
        done = subprocess.run(
            [EXTCI, *args],
            env=self.base_env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"extci {' '.join(args)} failed: {done.stderr}")
        return done.stdout

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def launch(self, *, within: float = 60) -> float:
        """Start the process and wait until ``/readyz`` answers 200; return the seconds from
        spawning it to that answer. Every launch appends to the same log."""
        with self.log_path.open("ab") as log:
            spawned = time.monotonic()
            self.process = subprocess.Popen(
                [EXTCI, "serve", "--port", str(self.port)],
                env=self.base_env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = spawned + within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=1) as r:  # noqa: S310
                    if r.status == 200:
                        return time.monotonic() - spawned
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.02)
        raise RuntimeError(f"server did not become ready: {self.log_path.read_text()}")

    def create_users(self) -> None:
        """The browser tests' three users (``PASSWORDS``), the way an operator would: with
        the CLI, in parallel (each one hashes a password with argon2)."""
        running = []
        for role, password in PASSWORDS.items():
            args = [EXTCI, "users", "create", role, "--role", role, "--password-stdin"]
            process = subprocess.Popen(
                args,
                env=self.base_env,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            assert process.stdin is not None
            process.stdin.write(password.encode() + b"\n")
            process.stdin.close()
            running.append(process)
        for process in running:
            process.wait(timeout=60)
            assert process.stderr is not None
            with process.stderr:
                err = process.stderr.read().decode()
            if process.returncode != 0:
                raise AssertionError(f"extci users create failed: {err}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash or an OOM kill."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=15)

    def restart(self) -> float:
        """Kill the process if it runs, start it again on the same port and data; return
        the seconds until it was ready."""
        self.kill()
        return self.launch()

    def start(self) -> LiveServer:
        self.launch()
        self.cli(
            "users",
            "create",
            "tester",
            "--role",
            "admin",
            "--password-stdin",
            stdin="correct horse battery\n",
        )
        self.token = self.cli("tokens", "create", "tester", "--name", "tests").strip()
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    # ---- the webhook, as a pipeline sends it ------------------------------------------

    def send(self, event: dict[str, Any], key: str) -> httpx.Response:
        headers = {**ev.HEADERS, "X-Codenow-Api-Key": key}
        return httpx.post(self.url + "/ci/webhook", json=event, headers=headers, timeout=10)

    # ---- the JSON API, as a script would use it --------------------------------------

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(  # noqa: S310 - a local URL we built
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310
            raw = r.read()
        return json.loads(raw) if raw else None

    def external_component(self, component_id: str, kind: str = "application-component") -> str:
        """Create the component, switch it to External CI and return a fresh CI key."""
        self.request(
            "POST", "/api/v1/components", {"id": component_id, "name": component_id, "kind": kind}
        )
        self.request("PUT", f"/api/v1/components/{component_id}/ci-mode", {"mode": "external"})
        created = self.request("POST", f"/api/v1/components/{component_id}/ci-keys", {"name": "ci"})
        key: str = created["key"]
        return key

    def builds(self, component_id: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.request(
            "GET", f"/api/v1/components/{component_id}/builds"
        )["items"]
        return items

    def build(self, component_id: str, pipeline_id: str) -> dict[str, Any]:
        quoted = urllib.parse.quote(pipeline_id, safe="")
        detail: dict[str, Any] = self.request(
            "GET", f"/api/v1/components/{component_id}/builds/{quoted}"
        )
        return detail


def browser_server(
    data_dir: Path,
    *,
    extra_env: dict[str, str] | None = None,
    database_url: str | None = None,
    log_name: str = "server.log",
) -> LiveServer:
    """A server for the browser tests (not started yet): their secret key, and ``extra_env``."""
    return LiveServer(
        data_dir,
        extra_env={"EXTCI_SECRET_KEY": BROWSER_SECRET, **(extra_env or {})},
        database_url=database_url,
        log_name=log_name,
    )
