"""An admin cuts a user off in a real browser: Users page, confirmation dialog, the user's
tokens, the Audit page; against a live server."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.support.live import PASSWORDS, LiveServer
from tests.web.pages import csrf_token, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_an_admin_deactivates_a_user_and_deletes_their_token(
    open_page: Callable[..., Page], server: LiveServer
) -> None:
    viewer = open_page()
    sign_in(viewer, "viewer")
    made = viewer.request.post(
        "/api/v1/tokens", data={"name": "laptop"}, headers={"X-CSRF-Token": csrf_token(viewer)}
    )
    assert made.status == 201, made.text()
    secret = made.json()["token"]
    expect(viewer.get_by_role("link", name="Users")).to_have_count(0)

    admin = open_page()
    sign_in(admin, "admin")
    admin.get_by_role("link", name="Users").click()
    expect(admin.get_by_role("heading", name="Users")).to_be_visible()
    row = admin.locator('tr[data-user="viewer"]')
    expect(row).to_contain_text("Active")

    # Cancel first: nothing happens; then confirm.
    row.get_by_role("button", name=re.compile("^Deactivate")).click()
    dialog = admin.locator("#deactivate-viewer")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("tokens are refused at once")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("Active")
    row.get_by_role("button", name=re.compile("^Deactivate")).click()
    dialog.get_by_role("button", name="Deactivate viewer").click()
    expect(admin.locator(".notice")).to_contain_text("User deactivated")
    expect(admin.locator('tr[data-user="viewer"]')).to_contain_text("Deactivated")

    # The viewer's open page: the next navigation asks to sign in, and signing in is refused.
    viewer.goto("/components")
    expect(viewer).to_have_url(re.compile(r"/sign-in"))
    viewer.get_by_label("Username").fill("viewer")
    viewer.get_by_label("Password").fill(PASSWORDS["viewer"])
    viewer.get_by_role("button", name="Sign in").click()
    expect(viewer.locator("body")).to_contain_text("This account is deactivated")
    me = viewer.request.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status == 401

    # Activate again: the token works again; then the admin deletes it.
    admin.locator('tr[data-user="viewer"]').get_by_role(
        "button", name=re.compile("^Activate")
    ).click()
    admin.locator("#activate-viewer").get_by_role("button", name="Activate viewer").click()
    expect(admin.locator(".notice")).to_contain_text("User activated")
    me = viewer.request.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status == 200
    admin.locator('tr[data-user="viewer"]').get_by_role("link", name=re.compile("^Tokens")).click()
    tokens = admin.locator("#tokens-table")
    expect(tokens).to_contain_text("laptop")
    expect(tokens).not_to_contain_text(secret)
    tokens.get_by_role("button", name=re.compile("^Delete")).click()
    admin.get_by_role("button", name="Delete token").click()
    expect(admin.locator(".notice")).to_contain_text("Token deleted")
    me = viewer.request.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status == 401

    # The Audit page tells the story, newest first, filterable by action.
    admin.get_by_role("link", name="Audit").click()
    expect(admin.get_by_role("heading", name="Audit log")).to_be_visible()
    actions = admin.locator("#audit tbody tr td[data-label=Action]")
    expect(actions).to_have_text(
        ["token.deleted", "user.activated", "user.deactivated", "token.created"]
        + ["user.created"] * 3
    )
    admin.get_by_label("Action").select_option("user.deactivated")
    admin.get_by_role("button", name="Filter").click()
    expect(actions).to_have_text(["user.deactivated"])
    expect(admin.locator("#audit")).to_contain_text("admin")
