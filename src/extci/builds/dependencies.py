"""The moment a request reads builds at (:class:`~extci.builds.state.AsOf`): the request's
time and the settings' inactivity timeout, after which a BUILDING build reads LOST."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from extci.builds.state import AsOf
from extci.dependencies import NowDep, SettingsDep


def get_as_of(now: NowDep, settings: SettingsDep) -> AsOf:
    return AsOf(now, settings.build_inactivity_timeout)


AsOfDep = Annotated[AsOf, Depends(get_as_of)]
