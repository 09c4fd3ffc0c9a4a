"""Server processes as a user runs them: ``extci serve`` of the checkout under test, with
its own data directory and database, and the ceiling app on the same server stack."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.databases import Database

HERE = Path(__file__).resolve().parent
# High enough that the per-key limit never answers 429 during a run; the limiter still runs.
RATE_LIMIT = "1000000000"


@dataclass(frozen=True)
class Target:
    """The checkout being measured (``--server-root``) and its virtualenv."""

    root: Path

    @property
    def bin(self) -> Path:
        return self.root / ".venv" / "bin"

    @property
    def extci(self) -> str:
        return str(self.bin / "extci")

    @property
    def python(self) -> str:
        return str(self.bin / "python")

    def commit(self) -> str:
        done = subprocess.run(
            ["git", "-C", str(self.root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip() or "unknown"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310 - local URL
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise RuntimeError(f"server did not become ready:\n{log.read_text()[-3000:]}")


class Process:
    """A server subprocess on a free port; ``stop`` ends exactly the process it started."""

    def __init__(self, name: str, data_dir: Path) -> None:
        self.name = name
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def _spawn(self, argv: list[str], env: dict[str, str], ready_path: str) -> None:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        _wait_ready(self.url + ready_path, self.process, self.log)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def memory_mb(self) -> dict[str, float]:
        """Resident memory now (VmRSS) and at its peak (VmHWM), from /proc."""
        values: dict[str, float] = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0]) / 1024
        return values

    @contextmanager
    def sampling_rss(self, every: float = 0.5) -> Iterator[list[float]]:
        """Sample VmRSS (MB) while the block runs: the peak under load, not at start-up
        (VmHWM also holds start-up peaks such as hashing the first admin's password)."""
        samples: list[float] = []
        done = threading.Event()

        def sample() -> None:
            while not done.wait(every):
                samples.append(self.memory_mb()["VmRSS"])

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        try:
            yield samples
        finally:
            done.set()
            thread.join()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Deployment(Process):
    """``extci serve`` with its own data dir and database, one component and a CI key."""

    def __init__(self, target: Target, name: str, data_dir: Path, db: Database) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        super().__init__(name, data_dir)
        self.target = target
        self.db = db
        self.env = {
            **os.environ,
            "EXTCI_ENV": "development",
            "EXTCI_DATA_DIR": str(data_dir),
            "EXTCI_DATABASE_URL": db.url,
            "EXTCI_RATE_LIMIT_PER_MINUTE": RATE_LIMIT,
        }
        self.token = ""

    def start(self) -> Deployment:
        # The first start creates the user 'admin' (password in the log, unused here).
        self._spawn([self.target.extci, "serve", "--port", str(self.port)], self.env, "/readyz")
        self.token = self.cli("tokens", "create", "admin", "--name", "bench").strip()
        return self

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [self.target.extci, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"extci {' '.join(args)} failed: {done.stderr}")
        return done.stdout

    def api(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - a local URL we built
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as r:  # noqa: S310
            raw = r.read()
        return json.loads(raw) if raw else None

    def external_component(self, component: str) -> str:
        """Create ``component`` in External CI mode; return a new CI key for it."""
        self.api(
            "POST",
            "/api/v1/components",
            {"id": component, "name": component, "kind": "application-component"},
        )
        self.api("PUT", f"/api/v1/components/{component}/ci-mode", {"mode": "external"})
        created = self.api("POST", f"/api/v1/components/{component}/ci-keys", {"name": "bench"})
        key: str = created["key"]
        return key


class Ceiling(Process):
    """The same ASGI server, options and request/response shape, storing nothing."""

    def __init__(self, target: Target, data_dir: Path) -> None:
        super().__init__("ceiling", data_dir)
        self.target = target

    def start(self) -> Ceiling:
        env = {**os.environ, "EXTCI_DATA_DIR": str(self.data_dir)}
        argv = [self.target.python, str(HERE / "ceiling.py"), "--port", str(self.port)]
        self._spawn(argv, env, "/healthz")
        return self
