"""The component page's delivery panels: "Deployable now" (``_deployable.html``) and
"Build health" (``_health.html``).

Loaded lazily, when a template first asks (inside the request's unit of work): the live
history fragment renders the same context and needs neither."""

from __future__ import annotations

from datetime import datetime
from functools import cached_property

from sqlalchemy.orm import Session

from extci.builds import deployable, stats
from extci.config import Settings
from extci.errors import NotFound
from extci.web.charts import Chart, chart


class Delivery:
    def __init__(
        self,
        session: Session,
        settings: Settings,
        component_id: str,
        branch: str | None,
        now: datetime,
    ) -> None:
        self._session, self._settings, self._now = session, settings, now
        self.component_id, self.branch = component_id, branch

    @cached_property
    def deployable(self) -> deployable.Deployable | None:
        """The newest deployable build (on the history's branch filter, when one is set)."""
        try:
            return deployable.newest(
                self._session,
                self.component_id,
                deployable.Query(branch=self.branch),
                now=self._now,
                inactivity_timeout=self._settings.build_inactivity_timeout,
            )
        except NotFound:
            return None

    @cached_property
    def health(self) -> stats.Health:
        return stats.health(
            self._session,
            self.component_id,
            now=self._now,
            inactivity_timeout=self._settings.build_inactivity_timeout,
        )

    @cached_property
    def chart(self) -> Chart:
        return chart(self.health)
