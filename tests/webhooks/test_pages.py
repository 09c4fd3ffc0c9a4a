"""The webhook pages over HTTP (no browser), on SQLite and PostgreSQL: subscribe with the
form, see the secret once, read the delivery log, redeliver, delete."""

from __future__ import annotations

import re

from tests.support import events as ev
from tests.support.api import Api
from tests.support.eventually import eventually
from tests.support.receiver import receiver
from tests.web.test_pages import page_token, sign_in

SECRET = re.compile(r'id="new-webhook-secret" readonly value="(whsec_[^"]+)"')


def test_an_editor_subscribes_reads_the_log_and_redelivers(hooked: Api) -> None:
    api = hooked
    api.component()
    key = api.key()
    api.token("editor", "ed")
    assert sign_in(api, "ed").status_code == 303
    component = api.client.get("/components/orders-service").text
    assert 'href="/components/orders-service/webhooks"' in component

    page = api.client.get("/components/orders-service/webhooks")
    assert page.status_code == 200
    assert '<label for="webhook-url">Target URL</label>' in page.text
    assert "<legend>Events</legend>" in page.text
    assert "No webhook subscriptions yet." in page.text
    token = page_token(api, "/components/orders-service/webhooks")

    bad = api.client.post(
        "/components/orders-service/webhooks",
        data={"csrf_token": token, "url": "not a url", "events": ["build.started"]},
    )
    assert bad.status_code == 400
    assert 'aria-invalid="true" aria-describedby="url-error"' in bad.text

    with receiver() as hook:
        made = api.client.post(
            "/components/orders-service/webhooks",
            data={
                "csrf_token": token,
                "url": hook.url + "/deploy",
                "events": ["build.started", "build.finished"],
                "format": "standard",
                "description": "deploy bot",
            },
        )
        assert made.status_code == 200, made.text
        match = SECRET.search(made.text)
        assert match
        secret = match.group(1)
        assert "will not be shown again" in made.text
        again = api.client.get("/components/orders-service/webhooks").text
        assert secret not in again  # shown once
        assert "deploy bot" in again
        [subscription_id] = re.findall(r'data-webhook="(\d+)"', again)

        for event in (ev.start("p-1", "orders-service"), ev.end("p-1", "FAILED")):
            assert api.send(event, key).status_code == 200
        hook.wait_for(2)

        log = eventually(
            lambda: api.client.get(f"/webhooks/{subscription_id}").text,
            lambda text: text.count("Delivered</span>") == 2,
        )
        assert "HTTP 200" in log
        assert '<h2 id="deliveries-title">Delivery log</h2>' in log
        [first, _] = sorted(re.findall(r'data-delivery="(\d+)"', log))
        redeliver = api.client.post(
            f"/webhooks/{subscription_id}/deliveries/{first}/redeliver",
            data={"csrf_token": page_token(api, f"/webhooks/{subscription_id}")},
            follow_redirects=False,
        )
        assert redeliver.status_code == 303
        got = hook.wait_for(3)
        assert got[2].headers["webhook-id"] == got[0].headers["webhook-id"]

    confirm = api.client.get(f"/webhooks/{subscription_id}/delete")
    assert confirm.status_code == 200
    gone = api.client.post(
        f"/webhooks/{subscription_id}/delete",
        data={"csrf_token": page_token(api, f"/webhooks/{subscription_id}/delete")},
        follow_redirects=False,
    )
    assert gone.status_code == 303
    assert gone.headers["location"] == "/components/orders-service/webhooks?done=deleted"


def test_a_viewer_reads_but_cannot_change_and_only_admins_see_the_installations(
    hooked: Api,
) -> None:
    api = hooked
    api.component()
    api.client.post(
        "/api/v1/components/orders-service/webhooks",
        json={"url": "https://hooks.example.org/x", "events": ["build.deployable"]},
        headers=api.token("editor", "ed"),
    )
    api.token("viewer", "vi")
    sign_in(api, "vi")
    page = api.client.get("/components/orders-service/webhooks").text
    assert "https://hooks.example.org/x" in page
    assert "Add a subscription" not in page
    assert "/delete" not in page
    assert api.client.get("/admin/webhooks").status_code == 403

    api.client.cookies.clear()
    api.token("admin", "root")
    sign_in(api, "root")
    admin = api.client.get("/admin/webhooks")
    assert admin.status_code == 200
    assert "Webhooks for every component" in admin.text
    assert 'href="/admin/webhooks"' in admin.text  # in the main navigation
