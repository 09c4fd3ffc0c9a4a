"""``extci trust-policies``: create, list and delete a component's OIDC trust policies."""

from __future__ import annotations

from extci import migrate
from extci.db import make_engine, make_session_factory
from tests.cli.test_admin_cli import Extci, extci, lines  # noqa: F401 - the fixture
from tests.support import factories

GITHUB = "https://token.actions.githubusercontent.com"


def test_trust_policies_from_the_command_line(extci: Extci) -> None:  # noqa: F811
    engine = make_engine(extci.env["EXTCI_DATABASE_URL"])
    try:  # set up in-process: each command line costs a second of start-up
        migrate.upgrade(engine)
        factories.make_component(make_session_factory(engine), "orders-service")
    finally:
        engine.dispose()
    extci.ok(
        "trust-policies", "create", "orders-service", "--name", "github main",
        "--issuer", GITHUB, "--claim", "repository=acme/orders", "--claim", "ref=refs/heads/main",
    )  # fmt: skip
    [header, row] = lines(extci.ok("trust-policies", "list", "orders-service"))
    assert header.split()[:5] == ["ID", "NAME", "ISSUER", "AUDIENCE", "CLAIMS"]
    assert GITHUB in row
    assert "ref=refs/heads/main repository=acme/orders" in row

    no_claim = extci(
        "trust-policies", "create", "orders-service", "--name", "x", "--issuer", GITHUB
    )
    assert no_claim.returncode == 1
    assert "/claims" in no_claim.stderr

    extci.ok("trust-policies", "delete", "orders-service", row.split()[0])
    assert "no trust policies" in extci.ok("trust-policies", "list", "orders-service")
