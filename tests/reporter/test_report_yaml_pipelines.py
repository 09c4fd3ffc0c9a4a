"""The Bitbucket and Azure example pipelines, their steps run in order as those systems
would, against a live server: one build per run, ended once whichever step/job fails.

Each system is emulated only as far as the example needs (read with PyYAML): Bitbucket
runs a step's script lines in one shell and its after-script with BITBUCKET_EXIT_CODE,
and stops the pipeline at a failed step; Azure runs jobs in order, skips a job whose
dependency did not succeed, expands ``$(Name)`` macros, and gives the last job the other
jobs' results (what its ``$[ dependencies.<job>.result ]`` expression reads).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.reporter.reporter_helpers import EXAMPLES, live_env, make_git_repo, unique

pytestmark = pytest.mark.slow

DEPLOYABLE = {"container", "helm", "git-revision"}


def sh(script: str, env: dict[str, str], cwd: Path) -> int:
    done = subprocess.run(["sh", "-e", "-c", script], env=env, cwd=cwd, timeout=120, check=False)
    return done.returncode


def new_run(live_server: Any, tmp_path: Path) -> tuple[str, dict[str, str]]:
    component = "orders-service-" + unique("x")[2:]
    env = live_env(live_server, live_server.external_component(component), component)
    make_git_repo(tmp_path / "work")
    (tmp_path / "bin").mkdir()
    env["PATH"] = f"{tmp_path / 'bin'}:{env['PATH']}"
    return component, env


def only_build(live_server: Any, component: str) -> dict[str, Any]:
    [summary] = live_server.builds(component)
    detail: dict[str, Any] = live_server.build(component, summary["pipelineId"])
    return detail


@pytest.mark.parametrize("fail", [False, True])
def test_bitbucket_pipeline(live_server: Any, tmp_path: Path, fail: bool) -> None:
    component, env = new_run(live_server, tmp_path)
    env |= {"BITBUCKET_BUILD_NUMBER": "311", "BITBUCKET_REPO_FULL_NAME": "acme/orders",
            "BITBUCKET_BRANCH": "main", "BITBUCKET_COMMIT": "9f2c1e7a5b3d"}  # fmt: skip
    text = (EXAMPLES / "bitbucket" / "bitbucket-pipelines.yml").read_text()
    text = text.replace("orders-service", component)
    # no package installs on the test machine, and the wrapper in the test's own bin
    text = text.replace("apt-get update -qq && apt-get install -y -qq curl git >/dev/null &&", "")
    text = text.replace("/usr/local/bin/extci", str(tmp_path / "bin" / "extci"))
    text = text.replace("/tmp/extci.pyz", str(tmp_path / "extci.pyz"))
    if fail:  # the publish step fails before it reports its results
        text = text.replace('- echo "Push the image and chart here"', "- exit 1")
    steps = [item["step"] for item in yaml.safe_load(text)["pipelines"]["default"]]
    assert [s["name"] for s in steps] == ["Build", "Publish"]
    for step in steps:
        code = sh("\n".join(step["script"]), env, tmp_path / "work")
        for line in step.get("after-script", []):
            sh(line, env | {"BITBUCKET_EXIT_CODE": str(code)}, tmp_path / "work")
        if code != 0:
            break
    build = only_build(live_server, component)
    assert build["pipelineId"] == f"{component}/bitbucket/acme/orders/311"
    assert build["status"] == ("FAILED" if fail else "SUCCESSFUL")
    assert {r["type"] for r in build["results"]} == ({"git-revision"} if fail else DEPLOYABLE)


def azure_expand(script: str, env: dict[str, str]) -> str:
    return re.sub(r"\$\(([\w.]+)\)", lambda m: env[m.group(1).upper().replace(".", "_")], script)


@pytest.mark.parametrize("fail", [False, True])
def test_azure_pipeline(live_server: Any, tmp_path: Path, fail: bool) -> None:
    component, env = new_run(live_server, tmp_path)
    pipeline = yaml.safe_load((EXAMPLES / "azure-pipelines" / "azure-pipelines.yml").read_text())
    env |= {
        "TF_BUILD": "True", "BUILD_BUILDID": "1234", "BUILD_SOURCEBRANCH": "refs/heads/main",
        "BUILD_SOURCEVERSION": "9f2c1e7a5b3d", "AGENT_TEMPDIRECTORY": str(tmp_path),
    }  # fmt: skip
    for name, value in pipeline["variables"].items():
        env[name.upper()] = azure_expand(str(value), env)
    env["EXTCI_COMPONENT"] = component
    results: dict[str, str] = {}
    for job in pipeline["jobs"]:
        needs = job.get("dependsOn", [])
        needs = [needs] if isinstance(needs, str) else needs
        if job.get("condition") != "always()" and any(results[n] != "Succeeded" for n in needs):
            results[job["job"]] = "Skipped"
            continue
        job_env = dict(env)
        if "RESULTS" in job.get("variables", {}):  # dependencies.<job>.result, in order
            job_env["RESULTS"] = " ".join(results[n] for n in needs)
        outcome = "Succeeded"
        for step in job["steps"]:
            if "script" not in step:
                continue
            script = azure_expand(step["script"], job_env)
            if fail and job["job"] == "build":
                script = "exit 1"
            if sh(script, job_env, tmp_path / "work") != 0:
                outcome = "Failed"
                break
        results[job["job"]] = outcome
    assert results["extci_end"] == "Succeeded"
    build = only_build(live_server, component)
    assert build["pipelineId"] == f"{component}/azure/1234"
    assert build["status"] == ("FAILED" if fail else "SUCCESSFUL")
    assert {r["type"] for r in build["results"]} == ({"git-revision"} if fail else DEPLOYABLE)
