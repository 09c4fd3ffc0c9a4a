"""Load generators: wrk with the Lua scripts in bench/lua, and an open-loop client."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LUA_DIR = Path(__file__).resolve().parent / "lua"
WRK_TIMEOUT = "2s"  # wrk's default: a request unanswered after 2 s counts as a timeout
TIMEOUT_MS = 2000.0
MAX_DRAIN = 30.0  # seconds to wait for in-flight answers after the active phase


def missing_tools() -> list[str]:
    return [tool for tool in ("wrk", "hyperfine") if shutil.which(tool) is None]


@dataclass
class WrkResult:
    data: dict[str, Any]
    drained: bool
    extra: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        return self.data[name]

    @property
    def rate(self) -> float:
        """Acknowledged requests per second over the time requests were in flight."""
        seconds = self.data["seconds"]
        return self.data["ok"] / seconds if seconds > 0 else 0.0


def _censored(data: dict[str, Any]) -> dict[str, Any]:
    """wrk leaves an answer slower than its time-out out of the latency histogram (it only
    counts it as a time-out), so when many time out its percentiles are far too low. Then
    the percentile is at least the time-out: report it as that lower bound."""
    answered = max(1, data["received"])
    for name, share in (("p50_ms", 0.5), ("p90_ms", 0.1), ("p99_ms", 0.01)):
        if data["timeouts"] > share * answered:
            data[name] = max(data[name], TIMEOUT_MS)
    return data


def wrk(
    url: str,
    script: str,
    *,
    connections: int,
    seconds: float,
    env: dict[str, str],
    threads: int | None = None,
) -> WrkResult:
    """Run wrk for ``seconds`` of issuing requests, then until every answer is in."""
    threads = threads or min(2, connections)
    budget = int(seconds + MAX_DRAIN + 5)
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{budget}s",
        f"--timeout={WRK_TIMEOUT}",
        "-s",
        str(LUA_DIR / script),
        url,
    ]
    run_env = {
        **os.environ,
        **env,
        "BENCH_LUA_DIR": str(LUA_DIR),
        "BENCH_ACTIVE_SECONDS": str(seconds),
    }
    process = subprocess.Popen(
        argv, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    lines: list[str] = []
    drained = 0
    all_drained = threading.Event()

    def read() -> None:
        nonlocal drained
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith("BENCH_DRAINED"):
                drained += 1
                if drained == threads:
                    all_drained.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        all_drained.wait(timeout=seconds + MAX_DRAIN)
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # wrk then prints its summary and runs done()
        process.wait(timeout=60)
    finally:
        if process.poll() is None:  # interrupted: never leave wrk running
            process.kill()
            process.wait()
    reader.join(timeout=10)
    for line in lines:
        if line.startswith("BENCH_RESULT "):
            return WrkResult(_censored(json.loads(line.split(" ", 1)[1])), all_drained.is_set())
    raise RuntimeError("wrk printed no result:\n" + "".join(lines[-40:]))


# ---- open loop -------------------------------------------------------------------------


@dataclass
class OpenLoopResult:
    rate: float  # requested
    achieved: float  # sent per second
    ok: int
    non2xx: int
    errors: int
    p50_ms: float
    p99_ms: float


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


async def _open_loop(
    host: str, port: int, rate: float, seconds: float, key: str, component: str, prefix: str
) -> OpenLoopResult:
    """Send request i at exactly t0 + i/rate, whatever the earlier answers did; latency is
    measured from that scheduled time (no coordinated omission)."""
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    latencies: list[float] = []
    counts = {"ok": 0, "non2xx": 0, "errors": 0}

    async def fire(i: int, scheduled: float) -> None:
        body = (
            '{"type":"codenow.ci.start.event","version":"application/vnd.codenow.v1+json",'
            f'"pipelineId":"{prefix}-{i}","componentId":"{component}","buildVersion":"3.0.{i}",'
            '"actor":{"username":"bench"}}'
        ).encode()
        head = (
            f"POST /ci/webhook HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Content-Type: application/vnd.codenow.v1+json\r\n"
            f"X-Codenow-Api-Key: {key}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        try:
            reader, writer = idle.pop() if idle else await asyncio.open_connection(host, port)
            writer.write(head + body)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError):
            counts["errors"] += 1
            return
        latencies.append(time.perf_counter() - scheduled)
        status = int(status_line.split()[1])
        counts["ok" if 200 <= status < 300 else "non2xx"] += 1
        idle.append((reader, writer))

    tasks = []
    start = time.perf_counter()
    total = int(rate * seconds)
    for i in range(total):
        scheduled = start + i / rate
        pause = scheduled - time.perf_counter()
        await asyncio.sleep(max(0.0, pause))  # always yield, so due requests go out
        tasks.append(asyncio.create_task(fire(i, scheduled)))
    sent_seconds = time.perf_counter() - start
    await asyncio.wait(tasks, timeout=MAX_DRAIN)
    for _reader, writer in idle:
        writer.close()
    ms = [x * 1000 for x in latencies]
    return OpenLoopResult(
        rate=rate,
        achieved=total / sent_seconds if sent_seconds else 0.0,
        ok=counts["ok"],
        non2xx=counts["non2xx"],
        errors=counts["errors"] + sum(1 for t in tasks if not t.done()),
        p50_ms=_percentile(ms, 50),
        p99_ms=_percentile(ms, 99),
    )


def open_loop(
    port: int, rate: float, seconds: float, key: str, component: str, prefix: str
) -> OpenLoopResult:
    return asyncio.run(_open_loop("127.0.0.1", port, rate, seconds, key, component, prefix))
