"""Request-scoped dependencies shared by every edge: the runtime, the unit of work, the
settings, the request's time and the moment builds are read at."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from extci.builds.state import AsOf
from extci.config import Settings
from extci.db import unit_of_work
from extci.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_settings(runtime: RuntimeDep) -> Settings:
    return runtime.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_now(runtime: RuntimeDep) -> datetime:
    """The time of this request, from the runtime's clock (a test's can be advanced)."""
    return runtime.clock.now()


NowDep = Annotated[datetime, Depends(get_now)]


def get_session(request: Request, runtime: RuntimeDep) -> Iterator[Session]:
    """One unit of work per request: commits when the route returns, before the response is
    sent (scope="function"), and rolls back when it raises. Writes take SQLite's write lock
    up front so concurrent writers queue instead of failing."""
    write = request.method not in ("GET", "HEAD", "OPTIONS")
    with unit_of_work(runtime.sessions, write=write) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_as_of(now: NowDep, settings: SettingsDep) -> AsOf:
    """The moment this request reads builds at: its time, and the settings' inactivity
    timeout after which a BUILDING build reads LOST."""
    return AsOf(now, settings.build_inactivity_timeout)


AsOfDep = Annotated[AsOf, Depends(get_as_of)]
