"""The trust policies' section of the component page: listed for viewers, added and
deleted by editors."""

from __future__ import annotations

from tests.support import factories
from tests.support.api import Api
from tests.web.test_pages import page_token, sign_in

GITHUB = "https://token.actions.githubusercontent.com"


def test_editors_add_and_delete_trust_policies_on_the_component_page(api: Api) -> None:
    factories.make_user(api.runtime.sessions, api.secret, "eddie", "editor")
    api.component("orders-service")
    assert sign_in(api, "eddie").status_code == 303
    page = api.client.get("/components/orders-service")
    assert 'id="trust"' in page.text
    assert "No trust policies" in page.text

    path = "/components/orders-service"
    form = {"name": "GitHub main", "issuer": GITHUB, "audience": "extci",
            "claims": "repository=acme/orders\nref=refs/heads/main\n"}  # fmt: skip
    bad = api.client.post(
        f"{path}/trust-policies", data={**form, "claims": "", "csrf_token": page_token(api, path)}
    )
    assert bad.status_code == 400
    assert 'id="trust-error"' in bad.text
    done = api.client.post(
        f"{path}/trust-policies",
        data={**form, "csrf_token": page_token(api, path)},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    page = api.client.get(path)
    assert "repository=acme/orders" in page.text
    assert "ref=refs/heads/main" in page.text
    [policy] = api.client.get(
        "/api/v1/components/orders-service/trust-policies", headers=api.token()
    ).json()["items"]
    assert policy["claims"] == {"repository": "acme/orders", "ref": "refs/heads/main"}

    gone = api.client.post(
        f"{path}/trust-policies/{policy['id']}/delete",
        data={"csrf_token": page_token(api, path)},
        follow_redirects=False,
    )
    assert gone.status_code == 303
    assert "No trust policies" in api.client.get(path).text


def test_viewers_see_policies_but_no_form(api: Api) -> None:
    factories.make_user(api.runtime.sessions, api.secret, "vera", "viewer")
    api.component("orders-service")
    assert sign_in(api, "vera").status_code == 303
    page = api.client.get("/components/orders-service")
    assert 'id="trust"' in page.text
    assert 'id="trust-form"' not in page.text
