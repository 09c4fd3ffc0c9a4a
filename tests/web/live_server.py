"""A real ``extci serve`` process for browser tests, and a CI pipeline that talks to it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx

from tests.support import events as ev

EXTCI = str(Path(sys.executable).with_name("extci"))
SECRET = "browser-test-secret-key-long-enough-for-hmac-0123456789"
PASSWORDS = {"admin": "admin-password-1", "editor": "editor-password-1", "viewer": "viewer-pass-1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def server_env(data_dir: Path, database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        EXTCI_DATA_DIR=str(data_dir),
        EXTCI_SECRET_KEY=SECRET,
        EXTCI_DATABASE_URL=database_url,
        EXTCI_CREATE_ADMIN="false",
    )
    return env


def extci(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [EXTCI, *args], env=env, input=stdin, capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0:
        raise AssertionError(f"extci {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


def create_users(env: dict[str, str]) -> None:
    """The three users, the way an operator would: with the CLI (in parallel; each one
    hashes a password with argon2)."""
    running = []
    for role, password in PASSWORDS.items():
        args = [EXTCI, "users", "create", role, "--role", role, "--password-stdin"]
        process = subprocess.Popen(
            args, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
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


class LiveServer:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("w")
        self.process = subprocess.Popen(
            [EXTCI, "serve", "--port", str(self.port)],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"extci serve exited: {self.log_path.read_text()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"extci serve did not start: {self.log_path.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._log.close()

    def send(self, event: dict[str, Any], key: str) -> httpx.Response:
        headers = {**ev.HEADERS, "X-Codenow-Api-Key": key}
        return httpx.post(self.url + "/ci/webhook", json=event, headers=headers, timeout=10)
