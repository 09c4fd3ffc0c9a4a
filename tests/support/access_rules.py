"""Who may call what: one declared rule per route of the app (management.md §2 and the web
UI), from which the expected answer for every principal follows.

Each rule names the least a caller needs (``level``), what a caller who has it gets
(``ok``), and how to make the request: ``prepare`` returns the path values and body, on
fresh objects where the call changes something (an allowed delete must not take away what
the next test needs). ``expected`` turns a rule into the answer a principal must get:

==================  ===========  ==============================  ====================
level               face         live user below / above level   anonymous, CI keys,
                                                                 deactivated user
==================  ===========  ==============================  ====================
PUBLIC              any          ok / ok                         ok
WEBHOOK             webhook      401 / 401                       ci_key: ok,
                                                                 other_key: 403
                                                                 (404 for result
                                                                 and end events),
                                                                 the rest: 401
SIGNED_IN..ADMIN    api          403 / ok                        401
SIGNED_IN..ADMIN    web          403 / ok                        redirect to sign-in
==================  ===========  ==============================  ====================

A rule whose route does not exist yet is marked ``pending`` (routes another branch is
adding); test_authz_matrix fails for a route of the app that has no rule here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tests.support import events as ev
from tests.support import factories
from tests.support.routes import RouteKey
from tests.support.world import USER_ROLES, Call, Principal, World

SIGN_IN = "sign-in"  # a 303 to /sign-in?next=...: what the web UI answers the signed-out
PUBLIC, WEBHOOK, SIGNED_IN, VIEWER, EDITOR, ADMIN = (
    "public",
    "webhook",
    "signed-in",
    "viewer",
    "editor",
    "admin",
)
_RANK = {SIGNED_IN: 0, VIEWER: 0, EDITOR: 1, ADMIN: 2}
ACCOUNTS_PENDING = "accounts (issue 8 §6: active users, admin access to tokens, audit log)"

Outcome = int | str
Prepare = Callable[[World, Principal, str], Call]


def _nothing(_w: World, _p: Principal, _v: str) -> Call:
    return Call()


@dataclass(frozen=True)
class Rule:
    level: str
    ok: frozenset[Outcome]
    prepare: Prepare = _nothing
    variants: tuple[str, ...] = ("",)
    override: dict[str, frozenset[Outcome]] = field(default_factory=dict)
    pending: str | None = None


def rule(
    level: str,
    ok: Outcome | tuple[Outcome, ...],
    prepare: Prepare = _nothing,
    *,
    variants: tuple[str, ...] = ("",),
    override: dict[str, Outcome | tuple[Outcome, ...]] | None = None,
    pending: str | None = None,
) -> Rule:
    def as_set(value: Outcome | tuple[Outcome, ...]) -> frozenset[Outcome]:
        return frozenset(value if isinstance(value, tuple) else (value,))

    return Rule(
        level,
        as_set(ok),
        prepare,
        variants,
        {k: as_set(v) for k, v in (override or {}).items()},
        pending,
    )


def expected(route: RouteKey, rule_: Rule, principal: Principal, call: Call) -> frozenset[Outcome]:
    if principal.name in call.expect:
        return call.expect[principal.name]
    if principal.name in rule_.override:
        return rule_.override[principal.name]
    if rule_.level == PUBLIC:
        return rule_.ok
    if rule_.level == WEBHOOK:
        if principal.name == "ci_key":
            return rule_.ok
        return frozenset({403}) if principal.name == "other_key" else frozenset({401})
    if principal.role is None:  # nobody signed in, whatever credentials were sent
        if route.face == "api":
            return frozenset({401})
        return frozenset({SIGN_IN})
    if USER_ROLES.index(principal.role) >= _RANK[rule_.level]:
        return rule_.ok
    return frozenset({403})


# ---- how each route is called --------------------------------------------------------


def _alpha(_w: World, _p: Principal, _v: str) -> Call:
    return Call({"component_id": "alpha"})


def _alpha_key(w: World, _p: Principal, _v: str) -> Call:
    return Call({"component_id": "alpha", "key_id": w.key_ids["alpha"]})


def _alpha_build(_w: World, _p: Principal, _v: str) -> Call:
    return Call({"component_id": "alpha", "pipeline_id": "folder/p1"})


def _alpha_build_by_query(_w: World, _p: Principal, _v: str) -> Call:
    return Call({"component_id": "alpha"}, query={"pipelineId": "folder/p1"})


def _fresh_key(*, suspended: bool = False, form: bool = False) -> Prepare:
    def prepare(w: World, _p: Principal, _v: str) -> Call:
        key_id, _secret = w.key("alpha", suspended=suspended)
        return Call({"component_id": "alpha", "key_id": key_id}, form={} if form else None)

    return prepare


def _fresh_component(w: World, _p: Principal, _v: str) -> Call:
    return Call({"component_id": w.component()})


def _rename(w: World, _p: Principal, _v: str) -> Call:
    return Call({"component_id": "alpha"}, json={"name": w.unique("Alpha")})


def _ci_mode_api(w: World, _p: Principal, _v: str) -> Call:
    return Call({"component_id": w.component(external=False)}, json={"mode": "external"})


def _ci_mode_form(w: World, _p: Principal, _v: str) -> Call:
    return Call({"component_id": w.component(external=False)}, form={"mode": "external"})


def _new_key_api(w: World, _p: Principal, _v: str) -> Call:
    return Call({"component_id": "alpha"}, json={"name": w.unique("key")})


def _new_key_form(w: World, _p: Principal, _v: str) -> Call:
    return Call({"component_id": "alpha"}, form={"name": w.unique("key"), "expires": ""})


def _new_component_api(w: World, _p: Principal, _v: str) -> Call:
    return Call(json={"id": w.unique("new"), "kind": "library"})


def _new_component_form(w: World, _p: Principal, _v: str) -> Call:
    return Call(form={"id": w.unique("new"), "name": "", "kind": "library"})


def _new_token(w: World, _p: Principal, _v: str) -> Call:
    return Call(json={"name": w.unique("token")})


def _own_token(w: World, p: Principal, _v: str) -> Call:
    """A live user deletes a token of their own; anyone else tries the bystander's."""
    owner = p.username if p.role is not None and p.username else "bystander"
    return Call({"token_id": w.token(owner)})


def _new_user(w: World, _p: Principal, _v: str) -> Call:
    return Call(json={"username": w.unique("newbie"), "role": "viewer", "password": "long enough"})


def _change_user(w: World, _p: Principal, _v: str) -> Call:
    return Call({"username": w.user()}, json={"role": "editor"})


def _bystander(_w: World, _p: Principal, _v: str) -> Call:
    return Call({"username": "bystander"})


def _bystander_token(w: World, _p: Principal, _v: str) -> Call:
    return Call({"username": "bystander", "token_id": w.token("bystander")})


def _deactivate_page(w: World, _p: Principal, _v: str) -> Call:
    return Call({"username": w.user(), "verb": "deactivate"})


def _deactivate_form(w: World, p: Principal, v: str) -> Call:
    call = _deactivate_page(w, p, v)
    call.form = {}
    return call


def _bystander_token_form(w: World, p: Principal, v: str) -> Call:
    call = _bystander_token(w, p, v)
    call.form = {}
    return call


def _sign_out(w: World, p: Principal, _v: str) -> Call:
    # Signing out ends the session it is sent with: use a second one of the same user.
    session = w.web_session(p.username) if p.role is not None and p.username else None
    return Call(form={}, session=session)


def _forged_sign_in(_w: World, _p: Principal, _v: str) -> Call:
    return Call(form={"username": "admin", "password": "correct horse battery", "csrf_token": "x"})


def _static(_w: World, _p: Principal, _v: str) -> Call:
    return Call({"path": "app.css"})


def _webhook_event(w: World, _p: Principal, variant: str) -> Call:
    """A start event for alpha, or a result / an end event for an open build of alpha.
    Another component's key gets 403 for the start, and 404 for a result or an end:
    pipelineIds are scoped per component, so alpha's build is not found in beta."""
    if variant == "start":
        return Call(json=ev.start(w.unique("pipe"), "alpha"))
    pipeline_id = w.open_build("alpha")
    event = (
        ev.result(pipeline_id, ev.git_revision()) if variant == "result" else ev.end(pipeline_id)
    )
    return Call(json=event, expect={"other_key": frozenset({404})})


def _trust_policy_body(w: World) -> dict[str, object]:
    return {"name": w.unique("oidc"), "issuer": "https://token.actions.githubusercontent.com",
            "audience": "extci", "claims": {"repository": "acme/orders"}}  # fmt: skip


def _new_trust_policy_api(w: World, _p: Principal, _v: str) -> Call:
    return Call({"component_id": "alpha"}, json=_trust_policy_body(w))


def _new_trust_policy_form(w: World, _p: Principal, _v: str) -> Call:
    body = _trust_policy_body(w)
    form = {**body, "claims": "repository=acme/orders"}
    return Call({"component_id": "alpha"}, form={k: str(v) for k, v in form.items()})


def _fresh_trust_policy(*, form: bool = False) -> Prepare:
    def prepare(w: World, _p: Principal, _v: str) -> Call:
        from extci.audit.service import Actor
        from extci.db import unit_of_work
        from extci.trust import service as trust

        body = _trust_policy_body(w)
        with unit_of_work(w.runtime.sessions, write=True) as session:
            policy = trust.create(
                session, "alpha", name=str(body["name"]), issuer=str(body["issuer"]),
                audience="extci", claims={"repository": "acme/orders"}, actor=Actor.cli(),
            )  # fmt: skip
            policy_id = policy.id
        return Call({"component_id": "alpha", "policy_id": policy_id}, form={} if form else None)


def _new_webhook_api(w: World, _p: Principal, _v: str) -> Call:
    return Call({"component_id": "alpha"}, json={"url": _hook(w), "events": ["build.started"]})


def _new_webhook_form(w: World, _p: Principal, _v: str) -> Call:
    return Call({"component_id": "alpha"}, form={"url": _hook(w), "events": "build.started"})


def _hook(w: World) -> str:
    return f"https://hooks.example.org/{w.unique('hook')}"


def _alpha_webhook(w: World, _p: Principal, _v: str) -> Call:
    """A subscription of alpha's builds (one is kept for the calls that change nothing)."""
    if "alpha" not in w.webhook_ids:
        w.webhook_ids["alpha"] = w.subscription("alpha")
    return Call({"subscription_id": w.webhook_ids["alpha"]})


def _fresh_webhook(*, form: bool = False) -> Prepare:
    def prepare(w: World, _p: Principal, _v: str) -> Call:
        return Call({"subscription_id": w.subscription("alpha")}, form={} if form else None)

    return prepare


def _download(_w: World, _p: Principal, _v: str) -> Call:
    return Call({"name": "extci-report.pyz"})


def _fresh_delivery(*, form: bool = False) -> Prepare:
    def prepare(w: World, _p: Principal, _v: str) -> Call:
        subscription_id = w.subscription("alpha")
        w.open_build("alpha")  # its start event queues a delivery
        [delivery_id] = factories.webhook_deliveries(w.runtime.sessions, subscription_id)
        params = {"subscription_id": subscription_id, "delivery_id": delivery_id}
        return Call(params, form={} if form else None)

    return prepare


def _installation_webhook_api(w: World, _p: Principal, _v: str) -> Call:
    return Call(json={"url": _hook(w), "events": ["build.deployable"]})


def _installation_webhook_form(w: World, _p: Principal, _v: str) -> Call:
    return Call(form={"url": _hook(w), "events": "build.deployable"})


C = "/api/v1/components/{component_id}"
K = C + "/ci-keys/{key_id}"
T = C + "/trust-policies"
WH = "/api/v1/webhooks/{subscription_id}"
W = "/components/{component_id}"

RULES: dict[RouteKey, Rule] = {
    # ---- public: probes, the API's description, static files --------------------------
    RouteKey("GET", "/healthz"): rule(PUBLIC, 200),
    RouteKey("GET", "/readyz"): rule(PUBLIC, 200),
    RouteKey("GET", "/metrics"): rule(PUBLIC, 200),  # EXTCI_METRICS_TOKEN unset
    RouteKey("GET", "/openapi.json"): rule(PUBLIC, 200),
    RouteKey("GET", "/docs"): rule(PUBLIC, 200),
    RouteKey("GET", "/docs/oauth2-redirect"): rule(PUBLIC, 200),
    RouteKey("GET", "/redoc"): rule(PUBLIC, 200),
    RouteKey("GET", "/static/{path:path}"): rule(PUBLIC, 200, _static),
    RouteKey("GET", "/favicon.ico"): rule(PUBLIC, 200),
    # the reporter, served to CI jobs before they hold any credential
    RouteKey("GET", "/downloads/"): rule(PUBLIC, 200),
    RouteKey("GET", "/downloads"): rule(PUBLIC, 200),
    RouteKey("GET", "/downloads/{name}"): rule(PUBLIC, 200, _download),
    # ---- the webhook: a CI key, for its own component only -----------------------------
    RouteKey("POST", "/ci/webhook"): rule(
        WEBHOOK, 200, _webhook_event, variants=("start", "result", "end")
    ),
    # ---- JSON API (management.md §2) --------------------------------------------------
    RouteKey("GET", "/api/v1/components"): rule(VIEWER, 200),
    RouteKey("POST", "/api/v1/components"): rule(EDITOR, 201, _new_component_api),
    RouteKey("GET", C): rule(VIEWER, 200, _alpha),
    RouteKey("PATCH", C): rule(EDITOR, 200, _rename),
    RouteKey("DELETE", C): rule(ADMIN, 204, _fresh_component),
    RouteKey("PUT", C + "/ci-mode"): rule(EDITOR, 200, _ci_mode_api),
    RouteKey("POST", C + "/ci-keys"): rule(EDITOR, 201, _new_key_api),
    RouteKey("GET", C + "/ci-keys"): rule(VIEWER, 200, _alpha),
    RouteKey("POST", K + "/suspend"): rule(EDITOR, 200, _fresh_key()),
    RouteKey("POST", K + "/resume"): rule(EDITOR, 200, _fresh_key(suspended=True)),
    RouteKey("DELETE", K): rule(EDITOR, 204, _fresh_key()),
    RouteKey("POST", T): rule(EDITOR, 201, _new_trust_policy_api),
    RouteKey("GET", T): rule(VIEWER, 200, _alpha),
    RouteKey("GET", T + "/{policy_id}"): rule(VIEWER, 200, _fresh_trust_policy()),
    RouteKey("DELETE", T + "/{policy_id}"): rule(EDITOR, 204, _fresh_trust_policy()),
    RouteKey("GET", C + "/builds"): rule(VIEWER, 200, _alpha),
    RouteKey("GET", C + "/builds/{pipeline_id:path}"): rule(VIEWER, 200, _alpha_build),
    RouteKey("GET", C + "/webhooks"): rule(VIEWER, 200, _alpha),
    RouteKey("POST", C + "/webhooks"): rule(EDITOR, 201, _new_webhook_api),
    RouteKey("GET", "/api/v1/webhooks"): rule(ADMIN, 200),
    RouteKey("POST", "/api/v1/webhooks"): rule(ADMIN, 201, _installation_webhook_api),
    RouteKey("GET", WH): rule(VIEWER, 200, _alpha_webhook),
    RouteKey("DELETE", WH): rule(EDITOR, 204, _fresh_webhook()),
    RouteKey("GET", WH + "/deliveries"): rule(VIEWER, 200, _alpha_webhook),
    RouteKey("POST", WH + "/deliveries/{delivery_id}/redeliver"): rule(
        EDITOR, 202, _fresh_delivery()
    ),
    # alpha's one build is still running: nothing deployable, a 404 once access is granted.
    RouteKey("GET", C + "/deployable"): rule(VIEWER, 404, _alpha),
    RouteKey("GET", C + "/stats"): rule(VIEWER, 200, _alpha),
    RouteKey("GET", "/api/v1/me"): rule(SIGNED_IN, 200),
    RouteKey("POST", "/api/v1/tokens"): rule(SIGNED_IN, 201, _new_token),
    RouteKey("GET", "/api/v1/tokens"): rule(SIGNED_IN, 200),
    RouteKey("DELETE", "/api/v1/tokens/{token_id}"): rule(SIGNED_IN, 204, _own_token),
    RouteKey("GET", "/api/v1/users"): rule(ADMIN, 200),
    RouteKey("POST", "/api/v1/users"): rule(ADMIN, 201, _new_user),
    RouteKey("PATCH", "/api/v1/users/{username}"): rule(ADMIN, 200, _change_user),
    RouteKey("GET", "/api/v1/users/{username}"): rule(
        ADMIN, 200, _bystander, pending=ACCOUNTS_PENDING
    ),
    RouteKey("GET", "/api/v1/users/{username}/tokens"): rule(
        ADMIN, 200, _bystander, pending=ACCOUNTS_PENDING
    ),
    RouteKey("DELETE", "/api/v1/users/{username}/tokens/{token_id}"): rule(
        ADMIN, 204, _bystander_token, pending=ACCOUNTS_PENDING
    ),
    RouteKey("GET", "/api/v1/audit"): rule(ADMIN, 200, pending=ACCOUNTS_PENDING),
    # ---- web UI -----------------------------------------------------------------------
    RouteKey("GET", "/sign-in"): rule(
        PUBLIC,
        200,
        override={role: 303 for role in USER_ROLES},  # signed in: onwards
    ),
    # Sign-in needs its own form (a cookie and its token): a forged one is 403 for anyone.
    RouteKey("POST", "/sign-in"): rule(PUBLIC, 403, _forged_sign_in),
    RouteKey("POST", "/sign-out"): rule(SIGNED_IN, 303, _sign_out),
    RouteKey("GET", "/"): rule(SIGNED_IN, 303),
    RouteKey("GET", "/components"): rule(VIEWER, 200),
    RouteKey("POST", "/components"): rule(EDITOR, 303, _new_component_form),
    RouteKey("GET", W): rule(VIEWER, 200, _alpha),
    RouteKey("GET", W + "/ci-mode"): rule(EDITOR, 200, _alpha),
    RouteKey("POST", W + "/ci-mode"): rule(EDITOR, 303, _ci_mode_form),
    RouteKey("GET", W + "/keys/new"): rule(EDITOR, 200, _alpha),
    RouteKey("POST", W + "/keys"): rule(EDITOR, 200, _new_key_form),
    RouteKey("POST", W + "/keys/{key_id}/suspend"): rule(EDITOR, 303, _fresh_key(form=True)),
    RouteKey("POST", W + "/keys/{key_id}/resume"): rule(
        EDITOR, 303, _fresh_key(suspended=True, form=True)
    ),
    RouteKey("GET", W + "/keys/{key_id}/delete"): rule(EDITOR, 200, _alpha_key),
    RouteKey("POST", W + "/keys/{key_id}/delete"): rule(EDITOR, 303, _fresh_key(form=True)),
    RouteKey("POST", W + "/trust-policies"): rule(EDITOR, 303, _new_trust_policy_form),
    RouteKey("POST", W + "/trust-policies/{policy_id}/delete"): rule(
        EDITOR, 303, _fresh_trust_policy(form=True)
    ),
    RouteKey("GET", W + "/builds/{pipeline_id:path}"): rule(VIEWER, 200, _alpha_build),
    RouteKey("GET", W + "/build"): rule(VIEWER, 200, _alpha_build_by_query),
    RouteKey("GET", W + "/live"): rule(VIEWER, 200, _alpha),
    RouteKey("GET", W + "/webhooks"): rule(VIEWER, 200, _alpha),
    RouteKey("POST", W + "/webhooks"): rule(EDITOR, 200, _new_webhook_form),
    RouteKey("GET", "/admin/webhooks"): rule(ADMIN, 200),
    RouteKey("POST", "/admin/webhooks"): rule(ADMIN, 200, _installation_webhook_form),
    RouteKey("GET", "/webhooks/{subscription_id}"): rule(VIEWER, 200, _alpha_webhook),
    RouteKey("POST", "/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver"): rule(
        EDITOR, 303, _fresh_delivery(form=True)
    ),
    RouteKey("GET", "/webhooks/{subscription_id}/delete"): rule(EDITOR, 200, _alpha_webhook),
    RouteKey("POST", "/webhooks/{subscription_id}/delete"): rule(
        EDITOR, 303, _fresh_webhook(form=True)
    ),
    # An admin's Users and Audit pages (issue 8 §6 and "Audit log"), as the accounts
    # branch names them.
    RouteKey("GET", "/users"): rule(ADMIN, 200, pending=ACCOUNTS_PENDING),
    RouteKey("GET", "/users/{username}"): rule(ADMIN, 200, _bystander, pending=ACCOUNTS_PENDING),
    RouteKey("GET", "/users/{username}/{verb}"): rule(
        ADMIN, 200, _deactivate_page, pending=ACCOUNTS_PENDING
    ),
    RouteKey("POST", "/users/{username}/{verb}"): rule(
        ADMIN, 303, _deactivate_form, pending=ACCOUNTS_PENDING
    ),
    RouteKey("GET", "/users/{username}/tokens/{token_id}/delete"): rule(
        ADMIN, 200, _bystander_token, pending=ACCOUNTS_PENDING
    ),
    RouteKey("POST", "/users/{username}/tokens/{token_id}/delete"): rule(
        ADMIN, 303, _bystander_token_form, pending=ACCOUNTS_PENDING
    ),
    RouteKey("GET", "/audit"): rule(ADMIN, 200, pending=ACCOUNTS_PENDING),
}
