"""Keyless reporting end to end: the reporter gets an OIDC identity token the way each CI
hands it over, and a live server checks it against a real issuer on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reporter.reporter_helpers import base_env, make_git_repo, run_extci, unique
from tests.support.live import LiveServer
from tests.support.oidc_issuer import REQUEST_BEARER, Issuer, running_issuer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with running_issuer() as running:
        yield running


@pytest.fixture(scope="module")
def oidc_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server that trusts http issuers (the test-only setting)."""
    server = LiveServer(
        tmp_path_factory.mktemp("oidc-server"),
        extra_env={"EXTCI_OIDC_ALLOW_HTTP_ISSUERS": "true"},
    ).start()
    try:
        yield server
    finally:
        server.stop()


def trusted_component(server: LiveServer, issuer: Issuer, claims: dict[str, str]) -> str:
    component = unique("orders")
    server.external_component(component)  # (its CI key is not used)
    server.request(
        "POST",
        f"/api/v1/components/{component}/trust-policies",
        {"name": "ci", "issuer": issuer.url, "audience": "extci", "claims": claims},
    )
    return component


def test_github_actions_keyless(oidc_server: LiveServer, issuer: Issuer, tmp_path: Path) -> None:
    claims = {"repository": "acme/orders", "ref": "refs/heads/main"}
    component = trusted_component(oidc_server, issuer, claims)
    issuer.claims = claims  # what GitHub puts in this job's tokens
    make_git_repo(tmp_path)
    env = base_env(
        EXTCI_URL=oidc_server.url, EXTCI_COMPONENT=component,
        GITHUB_ACTIONS="true", GITHUB_REPOSITORY="acme/orders", GITHUB_RUN_ID="881",
        GITHUB_RUN_ATTEMPT="1", GITHUB_REF_NAME="main", GITHUB_REF_TYPE="branch",
        ACTIONS_ID_TOKEN_REQUEST_URL=f"{issuer.url}/token?api-version=2.0",
        ACTIONS_ID_TOKEN_REQUEST_TOKEN=REQUEST_BEARER,
    )  # fmt: skip
    done = run_extci(["report", "run", "--version", "1.0.881", "--", "true"], env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    build = oidc_server.build(component, f"{component}/github/acme/orders/881/1")
    assert build["endResult"] == "SUCCESSFUL"

    issuer.claims = {"repository": "acme/orders", "ref": "refs/heads/feature"}
    refused = run_extci(["report", "start", "--version", "1.0.882"], env, cwd=tmp_path)
    assert refused.returncode == 77, refused.stderr
    assert "identity token" in refused.stderr
    issuer.claims = {}


def test_gitlab_id_tokens_keyless(oidc_server: LiveServer, issuer: Issuer, tmp_path: Path) -> None:
    claims = {"project_path": "acme/orders", "ref": "main"}
    component = trusted_component(oidc_server, issuer, claims)
    make_git_repo(tmp_path)
    env = base_env(
        EXTCI_URL=oidc_server.url, EXTCI_COMPONENT=component,
        GITLAB_CI="true", CI_PIPELINE_ID="5120", CI_JOB_ID="77",
        EXTCI_ID_TOKEN=issuer.token(**claims),  # `id_tokens: EXTCI_ID_TOKEN: aud: extci`
    )  # fmt: skip
    done = run_extci(["report", "run", "--version", "2.1.0", "--", "true"], env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert oidc_server.build(component, f"{component}/gitlab/5120")["endResult"] == "SUCCESSFUL"
