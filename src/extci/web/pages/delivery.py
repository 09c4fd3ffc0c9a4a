"""The component page's delivery panels: "Deployable now" (``_deployable.html``) and
"Build health" (``_health.html``).

Loaded lazily, when a template first asks (inside the request's unit of work): the live
history fragment renders the same context and needs neither."""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.orm import Session

from extci.builds import deployable, stats
from extci.builds.state import AsOf
from extci.errors import NotFound
from extci.web.charts import Chart, chart


class Delivery:
    def __init__(
        self, session: Session, component_id: str, branch: str | None, as_of: AsOf
    ) -> None:
        self._session, self._as_of = session, as_of
        self.component_id, self.branch = component_id, branch

    @cached_property
    def deployable(self) -> deployable.Deployable | None:
        """The newest deployable build (on the history's branch filter, when one is set)."""
        try:
            return deployable.newest(
                self._session,
                self.component_id,
                deployable.Query(branch=self.branch),
                as_of=self._as_of,
            )
        except NotFound:
            return None

    @cached_property
    def health(self) -> stats.Health:
        return stats.health(self._session, self.component_id, as_of=self._as_of)

    @cached_property
    def chart(self) -> Chart:
        return chart(self.health)
