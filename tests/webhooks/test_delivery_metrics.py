"""The outgoing webhooks' figures reach ``GET /metrics``: a delivery to a real receiver on
127.0.0.1 counts as delivered, and the outbox depth is what the worker last counted."""

from __future__ import annotations

from tests.support import events as ev
from tests.support.eventually import eventually
from tests.support.receiver import receiver
from tests.test_metrics import samples, value
from tests.webhooks.conftest import MakeApi
from tests.webhooks.test_delivery import deliveries, subscribe


def test_a_delivery_is_counted_in_the_metrics(make_api: MakeApi) -> None:
    api = make_api()
    api.component()
    key = api.key()
    before = value(samples(api.client.get("/metrics").text), "extci_webhook_deliveries_total",
                   outcome="delivered")  # fmt: skip
    with receiver() as hook:
        sub = subscribe(api, hook.url, ["build.started"])
        assert api.send(ev.start("orders-9", "orders-service"), key).status_code == 200
        eventually(
            lambda: deliveries(api, sub["id"]), lambda d: d and d[0]["state"] == "DELIVERED",
            within=10,
        )  # fmt: skip
    found = eventually(
        lambda: samples(api.client.get("/metrics").text),
        lambda s: value(s, "extci_webhook_deliveries_total", outcome="delivered") > before,
        within=10,
    )
    assert ("extci_outbox_depth", ()) in found
