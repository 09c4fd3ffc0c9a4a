"""``python -m bench``: start the servers, measure A B A B, print P1..P8, write the docs."""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import sys
import tempfile
import time
import urllib.error
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import load, machine, report, reporter, seed
from bench.databases import Database, PostgresDatabase, SQLiteDatabase, postgres_available
from bench.servers import Ceiling, Deployment, Target
from bench.stats import med

REPO = Path(__file__).resolve().parent.parent
PARTS = ("ingest", "runs", "p3", "p8", "reads", "reporter")
COMPONENT = "bench"
READS_COMPONENT = "history"
INSTALL_HINT = "install them with: sudo apt-get install wrk hyperfine"


@dataclass
class Plan:
    rounds: int
    seconds: float  # issuing time of one ingest/runs/p3 measurement
    connections: tuple[int, ...]
    p8_connections: int
    p8_seconds: float
    reads_seconds: float
    small: int
    large: int
    reporter_runs: int
    runs_connections: int


def plan_for(args: argparse.Namespace) -> Plan:
    if args.smoke:
        plan = Plan(1, 1, (1, 8), 16, 1, 0.3, 100, 1000, 2, 4)
    elif args.quick:
        plan = Plan(3, 3, (1, 32, 256), 256, 10, 1.5, 1000, 100_000, 10, 32)
    else:
        plan = Plan(3, 5, (1, 32, 256), 256, 30, 2, 1000, 1_000_000, 20, 32)
    if args.rounds:
        plan.rounds = args.rounds
    return plan


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="make bench", description=__doc__)
    p.add_argument(
        "--server-root",
        type=Path,
        default=Path(os.environ.get("EXTCI_BENCH_SERVER_ROOT", REPO)),
        help="checkout to measure; uses its .venv (default: this one)",
    )
    p.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--only", default=",".join(PARTS), help=f"comma list of {', '.join(PARTS)}")
    p.add_argument("--rounds", type=int, help="rounds of each A B pair (default 3)")
    p.add_argument("--quick", action="store_true", help="shorter runs, 100k builds not 1M")
    p.add_argument("--smoke", action="store_true", help="a few seconds: does it run at all")
    p.add_argument("--results", type=Path, help="write the raw figures as JSON here")
    p.add_argument(
        "--before",
        type=Path,
        default=REPO / "bench" / "results" / "before.json",
        help="raw figures of the 'before' column",
    )
    p.add_argument(
        "--docs",
        type=Path,
        help="write the report here (default: "
        "docs/performance.md after a full run of every part on both databases)",
    )
    args = p.parse_args(argv)
    args.parts = [x.strip() for x in args.only.split(",") if x.strip()]
    if unknown := set(args.parts) - set(PARTS):
        p.error(f"unknown parts: {', '.join(sorted(unknown))}")
    return args


class Failures:
    """Acknowledged != stored is a broken promise: said at once, and the run exits 1."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def check(self, what: str, acknowledged: int, stored: int, unanswered: int = 0) -> bool:
        equal = acknowledged == stored
        flag = "ok" if equal else "MISMATCH"
        extra = f", {unanswered} unanswered" if unanswered else ""
        print(f"    acknowledged {acknowledged:,} stored {stored:,}{extra}: {flag}", flush=True)
        if not equal:
            message = f"{what}: acknowledged {acknowledged} but stored {stored}"
            print(f"\n!!! ACKNOWLEDGED != STORED — {message}\n", file=sys.stderr, flush=True)
            self.items.append(message)
        return equal


T0 = time.monotonic()


def say(text: str) -> None:
    print(f"{time.monotonic() - T0:6.1f}s {text}", flush=True)


# ---- one database ----------------------------------------------------------------------


class DatabaseBench:
    def __init__(
        self,
        kind: str,
        target: Target,
        ceiling: Ceiling,
        plan: Plan,
        work: Path,
        tag: str,
        failures: Failures,
    ) -> None:
        self.kind, self.target, self.ceiling, self.plan = kind, target, ceiling, plan
        self.work, self.tag, self.failures = work / kind, tag, failures
        self.deployments: list[Deployment] = []
        self.deployment: Deployment | None = None  # the one the write parts ran on
        self.out: dict[str, Any] = {}

    def _database(self, name: str) -> Database:
        if self.kind == "sqlite":
            return SQLiteDatabase((self.work / name).resolve())
        return PostgresDatabase()

    def prepare(self, names: list[str]) -> list[Deployment]:
        """Deployments not started yet (``main`` starts all of them side by side)."""
        for name in names:
            (self.work / name).mkdir(parents=True, exist_ok=True)
            self.deployments.append(
                Deployment(self.target, name, self.work / name, self._database(name))
            )
        return self.deployments

    def close(self) -> None:
        for deployment in self.deployments:
            try:
                deployment.stop()
            finally:
                deployment.db.drop()

    # -- writes --

    def wrk_env(self, key: str, prefix: str) -> dict[str, str]:
        return {"BENCH_KEY": key, "BENCH_COMPONENT": COMPONENT, "BENCH_PREFIX": prefix}

    def durable(self, d: Deployment, key: str, conns: int, seconds: float, label: str) -> Any:
        before = d.db.count_builds(COMPONENT)
        result = load.wrk(
            d.url,
            "ingest.lua",
            connections=conns,
            seconds=seconds,
            env=self.wrk_env(key, f"{self.tag}-{label}"),
        )
        stored = d.db.count_builds(COMPONENT) - before
        unanswered = result["sent"] - result["received"]
        self.failures.check(f"{self.kind} {label}", result["ok"], stored, unanswered)
        return result

    def ingest(self, d: Deployment, key: str) -> None:
        table: dict[str, dict[str, list[float]]] = {}
        for round_no in range(self.plan.rounds):
            for conns in self.plan.connections:
                row = table.setdefault(str(conns), {})
                ceiling = load.wrk(
                    self.ceiling.url,
                    "ingest.lua",
                    connections=conns,
                    seconds=self.plan.seconds,
                    env=self.wrk_env("ceiling", f"{self.tag}-c"),
                )
                say(
                    f"  round {round_no + 1} {conns:>3} conns  ceiling {ceiling.rate:9,.0f}/s "
                    f"p50 {ceiling['p50_ms']:.1f} ms p99 {ceiling['p99_ms']:.1f} ms"
                )
                durable = self.durable(
                    d, key, conns, self.plan.seconds, f"ingest-{round_no}-{conns}"
                )
                say(
                    f"  round {round_no + 1} {conns:>3} conns  durable {durable.rate:9,.0f}/s "
                    f"p50 {durable['p50_ms']:.1f} ms p99 {durable['p99_ms']:.1f} ms "
                    f"timeouts {durable['timeouts']} non-2xx {durable['non2xx']}"
                )
                for name, value in (
                    ("ceiling", ceiling.rate),
                    ("ceiling_p50", ceiling["p50_ms"]),
                    ("ceiling_p99", ceiling["p99_ms"]),
                    ("durable", durable.rate),
                    ("durable_p50", durable["p50_ms"]),
                    ("durable_p99", durable["p99_ms"]),
                    ("timeouts", durable["timeouts"]),
                    ("non2xx", durable["non2xx"]),
                ):
                    row.setdefault(name, []).append(value)
        self.out["ingest"] = table

    def runs(self, d: Deployment, key: str) -> None:
        conns = self.plan.runs_connections
        out: dict[str, list[float]] = {}
        for round_no in range(self.plan.rounds):
            builds, ended = d.db.count_builds(COMPONENT), d.db.count_ended(COMPONENT)
            r = load.wrk(
                d.url,
                "runs.lua",
                connections=conns,
                threads=conns,
                seconds=self.plan.seconds,
                env=self.wrk_env(key, f"{self.tag}-runs-{round_no}"),
            )
            say(
                f"  round {round_no + 1} whole runs, {conns} conns: {r.rate:,.0f} events/s, "
                f"{r['runs_done'] / r['seconds']:,.1f} runs/s, p99 {r['p99_ms']:.1f} ms"
            )
            label = f"{self.kind} runs {round_no}"
            self.failures.check(
                f"{label} starts", r["starts_ok"], d.db.count_builds(COMPONENT) - builds
            )
            self.failures.check(f"{label} ends", r["ends_ok"], d.db.count_ended(COMPONENT) - ended)
            for name, value in (
                ("events", r.rate),
                ("runs", r["runs_done"] / r["seconds"]),
                ("p50", r["p50_ms"]),
                ("p99", r["p99_ms"]),
                ("non2xx", r["non2xx"]),
            ):
                out.setdefault(name, []).append(value)
        self.out["runs"] = out

    def p3(self, d: Deployment, key: str) -> None:
        ingest = self.out.get("ingest", {})
        capacity = med(ingest[report.conns(ingest)]["durable"]) if ingest else float("nan")
        if capacity != capacity:  # nan: ingest not measured in this run; measure it now
            capacity = self.durable(d, key, 32, self.plan.seconds, "p3-capacity").rate
        rate = max(1.0, capacity / 2)
        out: dict[str, Any] = {"rate": rate, "p50": [], "p99": [], "achieved": []}
        for round_no in range(self.plan.rounds):
            before = d.db.count_builds(COMPONENT)
            r = load.open_loop(
                d.port, rate, self.plan.seconds, key, COMPONENT, f"{self.tag}-p3-{round_no}"
            )
            say(
                f"  round {round_no + 1} open loop at {rate:,.0f}/s (sent {r.achieved:,.0f}/s): "
                f"p50 {r.p50_ms:.1f} ms p99 {r.p99_ms:.1f} ms, errors {r.errors + r.non2xx}"
            )
            self.failures.check(
                f"{self.kind} p3 {round_no}", r.ok, d.db.count_builds(COMPONENT) - before
            )
            out["p50"].append(r.p50_ms)
            out["p99"].append(r.p99_ms)
            out["achieved"].append(r.achieved)
        self.out["p3"] = out

    def p8(self, d: Deployment, key: str) -> None:
        conns, seconds = self.plan.p8_connections, self.plan.p8_seconds
        r = self.durable(d, key, conns, seconds, "p8")
        say(
            f"  {conns} conns for {seconds:.0f} s: {r.rate:,.0f}/s, p50 {r['p50_ms']:.1f} ms, "
            f"p99 {r['p99_ms']:.1f} ms, timeouts {r['timeouts']}, 5xx {r['s5xx']}"
        )
        self.out["p8"] = {
            "rate": r.rate,
            "p50": r["p50_ms"],
            "p99": r["p99_ms"],
            "timeouts": r["timeouts"],
            "s5xx": r["s5xx"],
            "non2xx": r["non2xx"],
            "connections": conns,
            "seconds": seconds,
        }

    def memory(self, d: Deployment, samples: list[float]) -> None:
        now = d.memory_mb()
        self.out["memory"] = {**now, "under_load": max(samples, default=now["VmRSS"])}
        say(
            f"  server memory: {self.out['memory']['under_load']:.0f} MB at most under load "
            f"(sampled VmRSS); VmHWM {now['VmHWM']:.0f} MB, VmRSS now {now['VmRSS']:.0f} MB"
        )

    # -- reads --

    def reads(self, small: Deployment, large: Deployment) -> None:
        sides: dict[str, tuple[Deployment, dict[str, str]]] = {}
        for side, count, d in (
            ("small", self.plan.small, small),
            ("large", self.plan.large, large),
        ):
            component = READS_COMPONENT if small is not large else f"{READS_COMPONENT}-{side}"
            d.external_component(component)
            started = time.monotonic()
            seed.seed_builds(d.db, component, count)
            say(f"  seeded {count:,} builds in {time.monotonic() - started:.1f} s")
            sides[side] = (d, read_paths(d, component, count))
        out: dict[str, dict[str, list[float]]] = {}
        # A read the measured checkout does not have (an older one) is left out.
        names = [n for n in READS if all(n in paths for _d, paths in sides.values())]
        for round_no in range(self.plan.rounds):
            for name in names:
                for side, (d, paths) in sides.items():
                    r = load.wrk(
                        d.url,
                        "get.lua",
                        connections=1,
                        seconds=self.plan.reads_seconds,
                        env={"BENCH_PATH": paths[name], "BENCH_TOKEN": d.token},
                    )
                    if r["non2xx"] or not r["ok"]:
                        self.failures.items.append(f"{self.kind} read {name} {side}: errors")
                        say(f"!!! {name} ({side}) answered errors: {r.data}")
                    out.setdefault(name, {}).setdefault(side, []).append(r["p50_ms"])
            say(
                f"  round {round_no + 1} reads: "
                + ", ".join(
                    f"{n} {out[n]['small'][-1]:.1f}/{out[n]['large'][-1]:.1f} ms" for n in names
                )
            )
        self.out["reads"] = out


READS = (
    "first page",
    "deep page",
    "branch filter",
    "components list",
    "component detail",
    "deployable",
    "deployable 1.x.",
)


def _deep_cursor(next_cursor: str, depth: int) -> str | None:
    """The cursor of a page ``depth`` rows down: the issued cursor names the last row's id
    (ids of the seeded rows are consecutive), so lowering that id moves the page down."""
    try:
        values = json.loads(base64.urlsafe_b64decode(next_cursor + "=" * (-len(next_cursor) % 4)))
    except ValueError:
        return None
    if not isinstance(values, list) or not values or type(values[-1]) is not int:
        return None
    values[-1] = max(1, values[-1] - depth)
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_paths(d: Deployment, component: str, count: int) -> dict[str, str]:
    base = f"/api/v1/components/{component}"
    page = d.api("GET", f"{base}/builds")
    cursor = page.get("nextCursor") or page.get("next_cursor")
    deep = _deep_cursor(cursor, count // 2) if cursor else None
    if deep is None:  # an unknown cursor format: the deepest page 20 pages can reach
        for _ in range(20):
            page = d.api("GET", f"{base}/builds?cursor={cursor}")
            cursor = page.get("nextCursor") or page.get("next_cursor") or cursor
        deep = cursor
    paths = {
        "first page": f"{base}/builds",
        "deep page": f"{base}/builds?cursor={deep}",
        "branch filter": f"{base}/builds?branch={seed.FILTER_BRANCH}",
        "components list": "/api/v1/components",
        "component detail": base,
    }
    # What can be deployed from main: the newest SUCCESSFUL build on a branch (one probe of
    # ix_builds_deployable), and with a version prefix (the seeded 1.<n // 1000>.<n % 1000>,
    # the newest minor version, as a deploy job pinned to a release line asks).
    deployable = f"{base}/deployable?branch=main"
    try:
        d.api("GET", deployable)
    except urllib.error.HTTPError:  # a checkout from before the deployable query
        return paths
    paths["deployable"] = deployable
    paths["deployable 1.x."] = f"{deployable}&version=1.{(count - 1) // 1000}."
    return paths


# ---- the whole run -----------------------------------------------------------------------


def deployment_names(parts: list[str], smoke: bool) -> list[str]:
    """The deployments a run needs; the smoke run reads from the ingest deployment too."""
    writes = any(p in parts for p in ("ingest", "runs", "p3", "p8", "reporter"))
    names = ["ingest"] if writes or (smoke and "reads" in parts) else []
    if "reads" in parts and not smoke:
        names += ["reads-small", "reads-large"]
    return names


def run_database(bench: DatabaseBench, parts: list[str]) -> None:
    deployments = {d.name: d for d in bench.deployments}
    if "ingest" in deployments and any(p != "reads" for p in parts):
        d = deployments["ingest"]
        key = d.external_component(COMPONENT)
        bench.out["key"] = key
        steps: list[tuple[str, Callable[[], None]]] = [
            ("ingest", lambda: bench.ingest(d, key)),
            ("runs", lambda: bench.runs(d, key)),
            ("p3", lambda: bench.p3(d, key)),
            ("p8", lambda: bench.p8(d, key)),
        ]
        with d.sampling_rss() as rss:
            for name, step in steps:
                if name in parts:
                    say(f"[{bench.kind}] {name}")
                    step()
        bench.memory(d, rss)
        bench.deployment = d
    if "reads" in parts:
        say(f"[{bench.kind}] reads")
        small = deployments.get("reads-small", deployments.get("ingest"))
        large = deployments.get("reads-large", deployments.get("ingest"))
        assert small is not None
        assert large is not None
        bench.reads(small, large)


def _interruptible() -> None:
    """Ctrl-C and SIGTERM end the run through its ``finally`` (servers stopped, databases
    dropped), also when started in the background, where SIGINT is inherited ignored."""

    def stop(signum: int, _frame: object) -> None:
        # Once: a second signal must not cut the clean-up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _interruptible()
    if missing := load.missing_tools():
        say(f"make bench needs {' and '.join(missing)}: {INSTALL_HINT}")
        return 2
    target = Target(args.server_root.resolve())
    if not Path(target.extci).exists():
        say(f"no {target.extci}: run 'make install-dev' in {target.root} first")
        return 2
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    if "postgresql" in kinds and (why := postgres_available()):
        say(f"PostgreSQL is not reachable ({why})")
        return 2
    plan = plan_for(args)
    tag = uuid.uuid4().hex[:8]
    failures = Failures()
    results: dict[str, Any] = {
        "meta": {
            **machine.describe(),
            "commit": target.commit(),
            "plan": plan.__dict__,
            "mode": "smoke" if args.smoke else "quick" if args.quick else "full",
        },
    }
    say(
        f"extci bench: {target.root} @ {results['meta']['commit']}, {', '.join(kinds)}, "
        f"{plan.rounds} round(s), parts {','.join(args.parts)}"
    )
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="extci-bench-") as tmp:
        work = Path(tmp)
        ceiling = Ceiling(target, work)
        benches = [
            DatabaseBench(kind, target, ceiling, plan, work, tag, failures) for kind in kinds
        ]
        processes: list[Ceiling | Deployment] = [ceiling]
        for bench in benches:
            processes += bench.prepare(deployment_names(args.parts, args.smoke))
        try:
            # Started side by side: each start mostly waits on imports and migrations.
            with ThreadPoolExecutor(len(processes)) as pool:
                list(pool.map(lambda p: p.start(), processes))
            say(f"started {len(processes)} server processes")
            for kind, bench in zip(kinds, benches, strict=True):
                run_database(bench, args.parts)
                results[kind] = bench.out
            if "reporter" in args.parts and benches and benches[0].deployment:
                say("[reporter] hyperfine: extci report start vs curl")
                b = benches[0]
                assert b.deployment is not None
                results["reporter"] = reporter.measure(
                    b.deployment,
                    b.out["key"],
                    COMPONENT,
                    rounds=plan.rounds,
                    runs=plan.reporter_runs,
                    tag=tag,
                )
        finally:
            ceiling.stop()
            for bench in benches:
                bench.close()
    results["meta"]["seconds"] = round(time.monotonic() - started)
    results["failures"] = failures.items
    before = json.loads(args.before.read_text()) if args.before and args.before.exists() else None
    say("")
    say(report.summary_table(results, before))
    if args.results:
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps(results, indent=1) + "\n")
    complete = set(args.parts) == set(PARTS) and len(kinds) == 2
    full = complete and not (args.smoke or args.quick or args.rounds)
    docs = args.docs or (REPO / "docs" / "performance.md" if full else None)
    if docs:
        docs.write_text(report.document(results, before))
        say(f"wrote {docs}")
    if failures.items:
        say(
            "\nFAILED: acknowledged != stored (or reads errored):\n  " + "\n  ".join(failures.items)
        )
        return 1
    return 0
