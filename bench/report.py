"""The P1..P8 table (printed) and docs/performance.md (written)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.stats import med, ratio, spread

Results = dict[str, Any]


@dataclass(frozen=True)
class Row:
    id: str
    measure: str
    target: str
    measured: Callable[[Results], tuple[str, str]]  # (figure, met?)


def conns(ingest: dict[str, Any]) -> str:
    """32 connections, or the middle count of a shorter run (the smoke run uses 8)."""
    keys = sorted(ingest, key=int)
    return "32" if "32" in ingest else keys[len(keys) // 2]


def _missing(*parts: Any) -> bool:
    return any(p is None for p in parts)


def _ingest_ratio(r: Results, kind: str) -> tuple[float, float, float, str] | None:
    ingest = r.get(kind, {}).get("ingest")
    if not ingest:
        return None
    c = conns(ingest)
    durable, ceiling = med(ingest[c]["durable"]), med(ingest[c]["ceiling"])
    return ratio(durable, ceiling), durable, ceiling, c


def _verdict(ok: bool, minimum: bool = False) -> str:
    return "yes" if ok else ("minimum only" if minimum else "no")


def p1(r: Results) -> tuple[str, str]:
    got = _ingest_ratio(r, "sqlite")
    if got is None:
        return "-", "-"
    q, d, c, n = got
    return f"{q:.2f} ({d:,.0f} ÷ {c:,.0f}/s, {n} conns)", _verdict(q >= 0.65, q >= 0.5)


def p2(r: Results) -> tuple[str, str]:
    got = _ingest_ratio(r, "sqlite")
    if got is None:
        return "-", "-"
    _q, d, _c, n = got
    return f"{d:,.0f} events/s ({n} conns)", _verdict(d >= 5000, d >= 2500)


def p3(r: Results) -> tuple[str, str]:
    p = r.get("sqlite", {}).get("p3")
    if not p:
        return "-", "-"
    p99 = med(p["p99"])
    return f"p99 {p99:,.1f} ms at {p['rate']:,.0f}/s", _verdict(p99 <= 15)


def _read_ratios(r: Results, kind: str) -> dict[str, float]:
    reads = r.get(kind, {}).get("reads") or {}
    return {n: ratio(med(v["large"]), med(v["small"])) for n, v in reads.items()}


def p4(r: Results) -> tuple[str, str]:
    ratios = _read_ratios(r, "sqlite")
    if not ratios:
        return "-", "-"
    worst = max(ratios, key=lambda n: ratios[n])
    plan = r["meta"]["plan"]
    return (
        f"worst {ratios[worst]:.2f} ({worst}; {plan['large']:,} ÷ {plan['small']:,} builds)",
        _verdict(ratios[worst] <= 1.5),
    )


def p5(r: Results) -> tuple[str, str]:
    got = _ingest_ratio(r, "postgresql")
    if got is None:
        return "-", "-"
    q, d, c, n = got
    return f"{q:.2f} ({d:,.0f} ÷ {c:,.0f}/s, {n} conns)", _verdict(q >= 0.5)


def p6(r: Results) -> tuple[str, str]:
    peaks = {
        k: r[k]["memory"]["under_load"]
        for k in ("sqlite", "postgresql")
        if r.get(k, {}).get("memory")
    }
    if not peaks:
        return "-", "-"
    worst = max(peaks.values())
    text = ", ".join(f"{k} {v:.0f} MB" for k, v in peaks.items())
    return f"RSS under load {text}", _verdict(worst <= 150)


def p7(r: Results) -> tuple[str, str]:
    rep = r.get("reporter")
    if not rep:
        return "-", "-"
    ext, curl = med(rep["extci report start"]) * 1000, med(rep["curl"]) * 1000
    q = ratio(ext, curl)
    return f"{q:.1f} ({ext:.0f} ms ÷ {curl:.0f} ms)", _verdict(q <= 4)


def p8(r: Results) -> tuple[str, str]:
    p = r.get("sqlite", {}).get("p8")
    if not p:
        return "-", "-"
    ok = p["timeouts"] == 0 and p["s5xx"] == 0 and p["p99"] <= 250
    return (
        f"{p['timeouts']} timeouts, {p['s5xx']} 5xx, p99 {p['p99']:,.0f} ms "
        f"({p['connections']} conns, {p['seconds']:.0f} s)",
        _verdict(ok),
    )


ROWS = (
    Row("P1", "durable ingest ÷ ceiling, SQLite FULL, 32 connections", "≥ 0.65 (at least 0.5)", p1),
    Row("P2", "durable ingest, SQLite FULL, absolute", "≥ 5,000/s (at least 2,500)", p2),
    Row("P3", "p99 time-to-ack at half the measured capacity (SQLite)", "≤ 15 ms", p3),
    Row("P4", "every read at 1 M builds ÷ at 1 k builds (SQLite)", "≤ 1.5", p4),
    Row("P5", "durable ingest ÷ ceiling, PostgreSQL, 32 connections", "≥ 0.5", p5),
    Row("P6", "server resident memory under sustained load", "≤ 150 MB", p6),
    Row("P7", "`extci report start` ÷ curl, same event", "≤ 4", p7),
    Row("P8", "256 connections for 30 s (SQLite)", "0 timeouts, 0 5xx, p99 ≤ 250 ms", p8),
)


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def summary_table(r: Results, before: Results | None) -> str:
    header = ["#", "Measure", "Target"]
    if before:
        header.append(f"Before ({before['meta']['commit']})")
    header += [f"Measured ({r['meta']['commit']})", "Met?"]
    rows = []
    for row in ROWS:
        figure, met = row.measured(r)
        cells = [row.id, row.measure, row.target]
        if before:
            cells.append(row.measured(before)[0])
        rows.append([*cells, figure, met])
    return _table(header, rows)


# ---- details -----------------------------------------------------------------------------


def _ms(values: list[float]) -> str:
    return spread(values, "{:,.1f}")


def details(r: Results) -> str:
    out: list[str] = []
    for kind in ("sqlite", "postgresql"):
        data = r.get(kind)
        if not data:
            continue
        out.append(f"### {'SQLite (synchronous=FULL)' if kind == 'sqlite' else 'PostgreSQL'}\n")
        if ingest := data.get("ingest"):
            rows = []
            for c in sorted(ingest, key=int):
                x = ingest[c]
                rows.append(
                    [
                        c,
                        spread(x["ceiling"]),
                        _ms(x["ceiling_p50"]),
                        spread(x["durable"]),
                        _ms(x["durable_p50"]),
                        _ms(x["durable_p99"]),
                        f"{ratio(med(x['durable']), med(x['ceiling'])):.2f}",
                        f"{sum(x['timeouts']):,.0f} / {sum(x['non2xx']):,.0f}",
                    ]
                )
            out.append("Unique start events (requests/s and ms: median (min-max) of the rounds):\n")
            out.append(
                _table(
                    [
                        "conns",
                        "ceiling /s",
                        "ceiling p50",
                        "durable /s",
                        "durable p50",
                        "durable p99",
                        "ratio",
                        "timeouts / non-2xx",
                    ],
                    rows,
                )
                + "\n"
            )
        if runs := data.get("runs"):
            out.append(
                f"Whole runs (start, 3 results, end; {r['meta']['plan']['runs_connections']} "
                f"pipelines at a time): {spread(runs['events'])} events/s, "
                f"{spread(runs['runs'], '{:,.1f}')} runs/s, p50 {_ms(runs['p50'])} ms, "
                f"p99 {_ms(runs['p99'])} ms, non-2xx {sum(runs['non2xx']):,.0f}.\n"
            )
        if p := data.get("p3"):
            out.append(
                f"Open loop at {p['rate']:,.0f}/s (half the 32-connection capacity): "
                f"p50 {_ms(p['p50'])} ms, p99 {_ms(p['p99'])} ms.\n"
            )
        if p := data.get("p8"):
            out.append(
                f"{p['connections']} connections for {p['seconds']:.0f} s: {p['rate']:,.0f}/s, "
                f"p50 {p['p50']:,.1f} ms, p99 {p['p99']:,.1f} ms, {p['timeouts']} timeouts, "
                f"{p['s5xx']} 5xx ({p['non2xx']} non-2xx).\n"
            )
        if m := data.get("memory"):
            out.append(
                f"Server memory: at most {m['under_load']:.0f} MB resident while the "
                f"write runs went on (VmRSS sampled every 0.5 s); VmHWM (which also "
                f"holds start-up peaks) {m['VmHWM']:.0f} MB.\n"
            )
        if reads := data.get("reads"):
            plan = r["meta"]["plan"]
            rows = [
                [
                    name,
                    _ms(v["small"]),
                    _ms(v["large"]),
                    f"{ratio(med(v['large']), med(v['small'])):.2f}",
                ]
                for name, v in reads.items()
            ]
            out.append("History reads, p50 ms at 1 connection:\n")
            out.append(
                _table(
                    ["read", f"{plan['small']:,} builds", f"{plan['large']:,} builds", "ratio"],
                    rows,
                )
                + "\n"
            )
    if rep := r.get("reporter"):
        out.append(
            "Reporter (hyperfine, median of each round, s): extci report start "
            f"{spread(rep['extci report start'], '{:.3f}')}, "
            f"curl {spread(rep['curl'], '{:.3f}')}.\n"
        )
    checks = "none" if not r.get("failures") else "; ".join(r["failures"])
    out.append(f"Acknowledged ≠ stored: {checks}.\n")
    return "\n".join(out)


METHOD = """\
`make bench` (`python -m bench`, code in `bench/`) starts the server the way a user runs it:
`extci serve` as a subprocess with its own data directory and database (a SQLite file in a
temporary directory, or a PostgreSQL database on 127.0.0.1:5432 created and dropped by the
run), the per-key rate limit raised out of the way (the limiter still runs), the admin token
from `extci tokens create`, a component and CI key through the JSON API.

- **Ceiling**: a Starlette app on the same uvicorn with the same options
  (`extci.server.server_options`), answering `POST /ci/webhook` with the same request and
  response shape (key header checked, body parsed, the four fields and the rate-limit
  headers) and storing nothing.
- **Durable ingest**: wrk (`bench/lua/ingest.lua`) posts start events whose `pipelineId` is
  unique (thread id + counter) at 1, 32 and 256 connections. Ceiling and durable runs
  alternate (A B A B A B); every figure is the median of the rounds, with min and max.
  Each run issues requests for a fixed time, then stops issuing and waits for every
  answer (so nothing is cut off in flight); the rate is acknowledged (2xx) answers divided by
  the time from the first request to the last answer. After each durable run the harness
  counts the stored builds with SQL and compares them with the acknowledged requests; a
  difference fails the run.
- **Whole runs** (`bench/lua/runs.lua`): one wrk thread per connection, each walking its own
  pipelines through start, three result events and end, the next event only after the
  previous one was acknowledged.
- **P3**: an open-loop generator (`bench/load.py`, Python asyncio, raw HTTP/1.1 on keep-alive
  connections) sends request *i* at *t0 + i/rate*, whatever earlier answers did, at half of
  the median 32-connection durable rate; latency counts from the scheduled time.
- **P6**: the server's resident memory (`VmRSS` in `/proc/<pid>/status`), sampled every
  0.5 s during all write runs (including the 256-connection run); the largest sample.
  `VmHWM` is reported too but also holds start-up peaks (hashing the first admin's password
  with argon2 takes tens of MB for a moment).
- **P8**: 256 connections for 30 s; wrk's time-out is 2 s. wrk leaves answers slower than
  its time-out out of its latency histogram (it counts them as time-outs), so when more than
  1 % of the answers time out, p99 is reported as 2,000 ms, a lower bound (p50 likewise
  past 50 %).
- **History reads**: two more deployments whose component holds 1,000 and 1,000,000 builds,
  bulk-inserted with SQL (executemany on SQLite, COPY on PostgreSQL), read at 1 connection
  with the admin token: first page, a page half-way down the history (a cursor naming that
  build), `?branch=` matching every 100th build, the components list, the component detail,
  and the deployable query: the newest deployable build on `main` (`deployable`) and the
  same with the newest release line's version prefix (`deployable 1.x.`, e.g. `1.999.`); a
  checkout without the query leaves those two out.
- **Reporter**: hyperfine runs `extci report start --version 1.0.0` (a whole process, with
  `EXTCI_URL`, `EXTCI_CI_KEY`, `EXTCI_COMPONENT` and a unique `EXTCI_PIPELINE_ID`, in the
  checkout's directory) and curl posting the same start event, each run with its own pipeline
  id (`--parameter-scan`, `-N`: no shell), alternating the order per round. Byte code is
  compiled once before (as `pip install` does), even where `PYTHONDONTWRITEBYTECODE` is set.

The load generator runs on the same 2 cores as the server, as the targets assume. The machine
is shared, so absolute figures move between runs; the ratios, measured in alternation, move
much less.
"""

HOW = """\
```sh
make bench                                   # everything, both databases (~15 min)
make bench BENCH_ARGS="--quick"              # shorter runs, 100k builds instead of 1M
make bench BENCH_ARGS="--only ingest,reads --db sqlite --rounds 5"
make bench BENCH_ARGS="--server-root ../other-checkout"   # measure another checkout
```

It needs `wrk` and `hyperfine` (`apt-get install wrk hyperfine`) and PostgreSQL on
127.0.0.1:5432 for the PostgreSQL half (`--db sqlite` without it). `--results FILE` keeps the
raw figures as JSON; `bench/results/before.json` holds those of the "before" column.
"""


def document(r: Results, before: Results | None) -> str:
    meta = r["meta"]
    machine = (
        f"{meta['cores']} cores ({meta['cpu']}), {meta['memory']} memory, Linux "
        f"{meta['kernel']}, Python {meta['python']}; load average at the start {meta['load']}"
    )
    before_note = ""
    if before:
        bm = before["meta"]
        before_note = (
            f"The **before** column is the same harness run against commit {bm['commit']} "
            f"(the landed main before the performance work) on {bm['date']}, "
            f"{bm['mode']} run.\n\n"
        )
    before_details = ""
    if before:
        before_details = f"## Before ({before['meta']['commit']})\n\n{details(before)}"
    return (
        "# Performance\n\n"
        f"Measured with `make bench` on {meta['date']} at commit {meta['commit']} "
        f"({meta['mode']} run, {meta['plan']['rounds']} rounds, {meta['seconds']} s).\n"
        f"Machine: {machine}.\n\n"
        f"{before_note}"
        f"{summary_table(r, before)}\n\n"
        "Where the time goes, and why the targets marked *no* are not met yet: "
        "[performance-profile.md](performance-profile.md) (profiles of this code).\n\n"
        "## Details\n\n"
        f"{details(r)}\n"
        f"{before_details}\n"
        "## Method\n\n"
        f"{METHOD}\n"
        "## Running it\n\n"
        f"{HOW}"
    )
