"""P7: ``extci report start`` as a whole process against curl sending the same start event,
with hyperfine. Each run gets its own pipeline id ($$ of the shell hyperfine starts), so
every run opens a new build and none is answered as a duplicate."""

from __future__ import annotations

import json
import os
import shlex
import statistics
import subprocess
import tempfile
from pathlib import Path

from bench.servers import Deployment


def commands(deployment: Deployment, key: str, component: str, tag: str) -> dict[str, str]:
    """Both commands for hyperfine ``-N`` (no shell); ``{i}`` makes each run's id unique."""
    start = (
        '{"type":"codenow.ci.start.event","version":"application/vnd.codenow.v1+json",'
        f'"pipelineId":"{tag}-curl-{{i}}","componentId":"{component}","buildVersion":"1.0.0"}}'
    )
    curl = (
        "curl -fsS -o /dev/null -X POST"
        " -H 'Content-Type: application/vnd.codenow.v1+json'"
        " -H 'Accept: application/vnd.codenow.v1+json'"
        f" -H 'X-Codenow-Api-Key: {key}' --data-binary '{start}' {deployment.url}/ci/webhook"
    )
    # env(1) only sets the variable and execs: curl's line gets the same extra exec.
    reporter = (
        f"env EXTCI_PIPELINE_ID={tag}-report-{{i}} "
        f"{shlex.quote(deployment.target.extci)} report start --version 1.0.0 --quiet"
    )
    curl = f"env EXTCI_PIPELINE_ID={tag}-curl-{{i}} {curl}"
    return {"curl": curl, "extci report start": reporter}


def measure(
    deployment: Deployment, key: str, component: str, *, rounds: int, runs: int, tag: str
) -> dict[str, list[float]]:
    """Per round, hyperfine runs each command ``runs`` times, each time with its own pipeline
    id (``--parameter-scan``); returns each command's per-round median wall time (s)."""
    # As after a pip install: byte code compiled once, not on every run (this machine's
    # environment may say PYTHONDONTWRITEBYTECODE; a CI job's pip install compiles anyway).
    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
        "EXTCI_URL": deployment.url,
        "EXTCI_CI_KEY": key,
        "EXTCI_COMPONENT": component,
    }
    warm = commands(deployment, key, component, f"{tag}-warm")["extci report start"]
    subprocess.run(warm.replace("{i}", "0").split(), env=env, check=True, capture_output=True)
    medians: dict[str, list[float]] = {}
    for round_no in range(rounds):
        cmds = commands(deployment, key, component, f"{tag}-{round_no}")
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "hyperfine.json"
            order = list(cmds.items()) if round_no % 2 == 0 else list(reversed(cmds.items()))
            argv = [
                "hyperfine",
                "-N",
                "--style",
                "none",
                "--runs",
                "1",
                "--parameter-scan",
                "i",
                "1",
                str(runs),
                "--export-json",
                str(out),
            ]
            for _name, command in order:
                argv.append(command)
            subprocess.run(
                argv,
                env=env,
                check=True,
                capture_output=True,
                text=True,
                cwd=deployment.target.root,
            )
            times: dict[str, list[float]] = {}
            for result in json.loads(out.read_text())["results"]:
                name = "curl" if "curl" in result["command"] else "extci report start"
                times.setdefault(name, []).extend(result["times"])
        for name, values in times.items():
            medians.setdefault(name, []).append(statistics.median(values))
    return medians
