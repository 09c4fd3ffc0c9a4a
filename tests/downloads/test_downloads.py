"""``/downloads/``: the server serves its own reporter, pinned by a SHA-256 it shows."""

from __future__ import annotations

import hashlib
import io
import zipfile

from extci.downloads.bundle import DOWNLOADS, PYZ_NAME, SH_NAME, build_zipapp
from tests.reporter.reporter_helpers import EXAMPLES
from tests.support.api import Api
from tests.web.test_pages import sign_in


def test_the_zipapp_is_the_reporter_alone_and_built_the_same_every_time() -> None:
    content = build_zipapp()
    assert content == build_zipapp()  # every process of a server serves the same bytes
    assert content.startswith(b"#!/usr/bin/env python3\n")
    names = zipfile.ZipFile(io.BytesIO(content)).namelist()
    assert "__main__.py" in names
    assert "extci/reporter/cli.py" in names
    reporter = {n for n in names if n.startswith("extci/reporter/")}
    # the reporter, and just the standard-library modules of the server it shares
    assert set(names) - reporter == {
        "__main__.py",
        "extci/__init__.py",
        "extci/durations.py",
        "extci/enums.py",
        "extci/builds/__init__.py",
        "extci/builds/result_types.py",
        "extci/components/__init__.py",
        "extci/components/kinds.py",
    }
    assert not [n for n in names if "__pycache__" in n]


def test_downloads_are_public_and_carry_their_digest(api: Api) -> None:
    pyz = api.client.get(f"/downloads/{PYZ_NAME}")
    assert pyz.status_code == 200
    digest = hashlib.sha256(pyz.content).hexdigest()
    assert digest == DOWNLOADS.get(PYZ_NAME).sha256  # type: ignore[union-attr]
    assert pyz.headers["etag"] == f'"{digest}"'
    pin = api.client.get(f"/downloads/{PYZ_NAME}.sha256")
    assert pin.text == f"{digest}  {PYZ_NAME}\n"

    sh = api.client.get(f"/downloads/{SH_NAME}")
    assert sh.status_code == 200
    assert sh.content == (EXAMPLES / "shell" / SH_NAME).read_bytes()

    page = api.client.get("/downloads/")
    assert page.status_code == 200
    assert digest in page.text
    assert hashlib.sha256(sh.content).hexdigest() in page.text
    assert api.client.get("/downloads/extci.tar.gz").status_code == 404
    assert api.client.get(f"/downloads/{PYZ_NAME}.sha256x").status_code == 404


def test_the_component_page_shows_how_to_fetch_the_reporter(api: Api) -> None:
    from tests.support import factories

    factories.make_user(api.runtime.sessions, api.secret, "viewer", "viewer")
    api.component("orders-service")
    assert sign_in(api, "viewer").status_code == 303
    page = api.client.get("/components/orders-service")
    assert page.status_code == 200
    assert DOWNLOADS.get(PYZ_NAME).sha256 in page.text  # type: ignore[union-attr]
    assert "python3 extci.pyz report run -- make" in page.text
