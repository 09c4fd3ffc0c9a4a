"""The deployment kit in deploy/: the Containerfile passes hadolint, the Kubernetes manifests
validate against a pinned Kubernetes version (and say what each variant must), the systemd
unit passes ``systemd-analyze verify``, and the proxy site files are the ones the docs show.
(Images cannot be built on the test machine: the Containerfile is linted, not built.)"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent
KUBERNETES_VERSION = "1.37.0"


def _documents(name: str) -> dict[str, dict[str, Any]]:
    docs = list(yaml.safe_load_all((DEPLOY / "kubernetes" / name).read_text()))
    return {d["kind"]: d for d in docs}


def test_the_manifests_validate_against_the_pinned_kubernetes_version() -> None:
    done = subprocess.run(
        [
            str(BIN / "kubernetes-validate"),
            "--kubernetes-version",
            KUBERNETES_VERSION,
            "--strict",
            "--quiet",
            *sorted(str(p) for p in (DEPLOY / "kubernetes").glob("*.yaml")),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("variant", ["sqlite.yaml", "postgresql.yaml"])
def test_each_deployment_probes_requests_and_reads_its_secret(variant: str) -> None:
    kinds = _documents(variant)
    assert {"Deployment", "Service", "Secret"} <= kinds.keys()
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    [container] = pod["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
    secret = kinds["Secret"]["stringData"]
    assert "EXTCI_SECRET_KEY" in secret
    env = {e["name"]: e for e in container.get("env", [])}
    from_secret = [s["secretRef"]["name"] for s in container.get("envFrom", [])]
    assert "EXTCI_SECRET_KEY" in env or from_secret == ["extci"]


def test_sqlite_is_one_pod_on_a_volume_and_postgresql_scales() -> None:
    sqlite, postgresql = _documents("sqlite.yaml"), _documents("postgresql.yaml")
    assert "PersistentVolumeClaim" in sqlite
    assert "HorizontalPodAutoscaler" not in sqlite
    assert sqlite["Deployment"]["spec"]["replicas"] == 1
    assert sqlite["Deployment"]["spec"]["strategy"]["type"] == "Recreate"
    assert "PersistentVolumeClaim" not in postgresql
    assert postgresql["HorizontalPodAutoscaler"]["spec"]["minReplicas"] >= 2
    assert "EXTCI_DATABASE_URL" in postgresql["Secret"]["stringData"]


def test_the_containerfile_passes_hadolint_and_runs_unprivileged() -> None:
    containerfile = DEPLOY / "Containerfile"
    done = subprocess.run(
        [str(BIN / "hadolint"), str(containerfile)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    text = containerfile.read_text()
    assert len(re.findall(r"(?m)^FROM python:[\d.]+-slim", text)) == 2  # multi-stage, slim
    assert re.search(r"(?m)^USER 10001", text)
    assert re.search(r"(?m)^VOLUME \[\"/var/lib/extci\"\]", text)
    assert "HEALTHCHECK" in text
    assert "/readyz" in text


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_the_systemd_unit_verifies() -> None:
    done = subprocess.run(
        ["systemd-analyze", "verify", str(DEPLOY / "systemd" / "extci.service")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # The only complaint allowed: extci is not installed in /opt/extci on this machine.
    complaints = [
        line
        for line in (done.stdout + done.stderr).splitlines()
        if line.strip() and "/opt/extci/bin/extci is not executable" not in line
    ]
    assert complaints == []


@pytest.mark.parametrize(
    ("path", "language", "must_have"),
    [
        ("caddy/Caddyfile", "caddy", ["header_up X-Forwarded-For {remote_host}", "max_size 1MB"]),
        (
            "nginx/extci.conf",
            "nginx",
            ["proxy_set_header X-Forwarded-For $remote_addr;", "client_max_body_size"],
        ),
    ],
)
def test_the_proxy_site_files_are_the_ones_the_docs_show(
    path: str, language: str, must_have: list[str]
) -> None:
    text = (DEPLOY / path).read_text()
    docs = (ROOT / "docs" / "deployment.md").read_text()
    assert f"```{language}\n{text}```" in docs
    for setting in must_have:
        assert setting in text
