"""Hostile text through the web forms (issue 8, findings 4 and 7): a lone surrogate in a
form field, or an expiry past what UTC can hold, is a 400 page and changes nothing, never a
500. On SQLite and on PostgreSQL through the shared ``api`` fixture."""

from __future__ import annotations

import pytest

from extci.db import unit_of_work
from extci.keys import service as keys
from tests.support.api import Api
from tests.web.test_pages import page_token, sign_in, sign_in_form

BOUNDARY = "extci-test-boundary"


def multipart(fields: dict[str, bytes], charset: str) -> tuple[bytes, dict[str, str]]:
    """A multipart/form-data body whose parts the server decodes with ``charset``."""
    body = b""
    for name, value in fields.items():
        body += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value
            + b"\r\n"
        )
    body += f"--{BOUNDARY}--\r\n".encode()
    content_type = f"multipart/form-data; boundary={BOUNDARY}; charset={charset}"
    return body, {"Content-Type": content_type}


# What each charset decodes to a lone surrogate (U+D800).
SURROGATE = {"unicode_escape": b"\\ud800", "utf-7": b"+2AA-"}


@pytest.mark.parametrize("charset", sorted(SURROGATE))
@pytest.mark.parametrize("field", ["username", "password"])
def test_sign_in_with_a_lone_surrogate_is_refused(api: Api, charset: str, field: str) -> None:
    api.token("editor")
    csrf = sign_in_form(api).encode()
    fields = {"username": b"editor", "password": b"wrong password", "csrf_token": csrf}
    fields[field] = SURROGATE[charset]
    body, headers = multipart(fields, charset)
    refused = api.client.post("/sign-in", content=body, headers=headers, follow_redirects=False)
    assert refused.status_code == 400, refused.text
    assert "not valid" in refused.text
    # the right password still signs in: nothing was counted or broken
    assert sign_in(api, "editor").status_code == 303


def test_a_lone_surrogate_in_a_signed_in_form_is_refused(api: Api) -> None:
    api.component("orders")
    api.token("editor")
    sign_in(api, "editor")
    token = page_token(api).encode()
    for path in ("/components/orders/keys", "/components"):
        fields = {"name": SURROGATE["utf-7"], "id": b"other", "kind": b"library"}
        body, headers = multipart({**fields, "csrf_token": token}, "utf-7")
        refused = api.client.post(path, content=body, headers=headers, follow_redirects=False)
        assert refused.status_code == 400, (path, refused.text)
    with unit_of_work(api.runtime.sessions) as session:
        assert keys.list_keys(session, "orders").items == []
    listed = api.client.get("/components")
    assert "other" not in listed.text


@pytest.mark.parametrize(
    "expires",
    ["9999-12-31", "9999-12-31T23:59:59-05:00", "9999-12-31T23:59:59.999999-00:01"],
)
def test_a_key_expiry_past_year_9999_in_utc_is_a_form_error(api: Api, expires: str) -> None:
    api.component("orders")
    api.token("editor")
    sign_in(api, "editor")
    token = page_token(api)
    refused = api.client.post(
        "/components/orders/keys",
        data={"name": "forever", "expires": expires, "csrf_token": token},
    )
    assert refused.status_code == 400, refused.text
    assert "years 1-9999 in UTC" in refused.text
    with unit_of_work(api.runtime.sessions) as session:
        assert keys.list_keys(session, "orders").items == []
