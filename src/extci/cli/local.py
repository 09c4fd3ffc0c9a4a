"""The JSON API on the local database, without HTTP: the commands' local mode.

A call is routed to the endpoint function the server would route it to (the ``router`` of
every ``extci.<domain>.endpoints`` module), its arguments filled in as FastAPI would fill
them: path and query parameters and the body validated with the endpoint's own types, the
unit of work and the settings as its dependencies, and ``cli:<OS user>`` as the actor. The
answer is serialised with the route's response model, and an error becomes the problem
details the server's handler would send. A command therefore gets the same document, and
prints the same output, on the local database as from a server.

The operator of the local database is its administrator: role checks pass. An endpoint
that acts for "the current user" (``POST /tokens``) needs :meth:`LocalApi.as_user`.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
import re
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from fastapi import params
from fastapi.routing import APIRoute, APIRouter
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import Response

import extci
from extci.accounts import service as accounts
from extci.accounts.dependencies import current_user, request_actor
from extci.audit.service import Actor
from extci.cli.api import Query
from extci.cli.errors import ApiError, CliError, ExitCode
from extci.clock import SYSTEM_CLOCK
from extci.config import Settings
from extci.db import make_session_factory, sqlite_path, unit_of_work
from extci.dependencies import get_as_of, get_now, get_session, get_settings
from extci.errors import ExtciError, FieldError, ValidationFailed, json_pointer
from extci.problems import problem_for

_NO_VALUE = inspect.Parameter.empty


@dataclass(frozen=True)
class _Param:
    name: str
    kind: str  # "path", "query", "query model", "body" or "depends"
    annotation: Any
    alias: str
    default: Any
    dependency: Callable[..., Any] | None = None
    fields: tuple[str, ...] = ()  # a query model's parameters (its fields' names or aliases)


@dataclass(frozen=True)
class Route:
    methods: frozenset[str]
    path: str
    regex: re.Pattern[str]
    endpoint: Callable[..., Any]
    response: TypeAdapter[Any] | None
    params: tuple[_Param, ...]


def _params(function: Callable[..., Any], path: str) -> tuple[_Param, ...]:
    """The parameters of an endpoint (or of a dependency: ``path`` "") as FastAPI reads them."""
    hints = get_type_hints(function, include_extras=True)
    found = []
    for name, parameter in inspect.signature(function).parameters.items():
        hint = hints[name]
        meta = get_args(hint)[1:] if get_origin(hint) is Annotated else ()
        base = get_args(hint)[0] if meta else hint
        depends = next((m for m in meta if isinstance(m, params.Depends)), None)
        alias = next((m.alias for m in meta if isinstance(m, FieldInfo) and m.alias), name)
        if depends is not None:
            found.append(_Param(name, "depends", hint, name, _NO_VALUE, depends.dependency))
        elif f"{{{name}}}" in path or f"{{{name}:" in path:
            found.append(_Param(name, "path", hint, name, _NO_VALUE))
        elif inspect.isclass(base) and issubclass(base, BaseModel):
            if any(isinstance(m, params.Query) for m in meta):  # ?cursor=&limit= as one model
                fields = tuple(f.alias or n for n, f in base.model_fields.items())
                found.append(_Param(name, "query model", hint, name, _NO_VALUE, fields=fields))
            else:
                found.append(_Param(name, "body", hint, name, _NO_VALUE))
        else:
            found.append(_Param(name, "query", hint, alias, parameter.default))
    return tuple(found)


def endpoint_modules() -> list[str]:
    """Every ``extci.<domain>.endpoints`` module: the API's routers (every ``APIRouter`` at
    module level; a test checks that they are all the server's ``/api/v1`` routes)."""
    names = []
    for info in pkgutil.iter_modules(extci.__path__):
        name = f"extci.{info.name}.endpoints"
        if info.ispkg and importlib.util.find_spec(name) is not None:
            names.append(name)
    return names


@cache
def routes() -> tuple[Route, ...]:
    found = []
    routers: dict[int, APIRouter] = {}
    for module in endpoint_modules():
        for value in vars(importlib.import_module(module)).values():
            if isinstance(value, APIRouter):  # a domain may have several (by prefix)
                routers.setdefault(id(value), value)
    for router in routers.values():
        for route in router.routes:
            if isinstance(route, APIRoute):
                response = TypeAdapter(route.response_model) if route.response_model else None
                found.append(
                    Route(
                        frozenset(route.methods or ()),
                        route.path,
                        route.path_regex,
                        route.endpoint,
                        response,
                        _params(route.endpoint, route.path),
                    )
                )
    return tuple(found)


def _field_errors(error: ValidationError, prefix: tuple[str | int, ...] = ()) -> ValidationFailed:
    return ValidationFailed(
        "The request is invalid.",
        errors=[
            FieldError(json_pointer((*prefix, *e["loc"])), str(e["msg"])) for e in error.errors()
        ],
    )


def _validated(param: _Param, value: Any) -> Any:
    try:
        return TypeAdapter(param.annotation).validate_python(value)
    except ValidationError as error:
        if param.kind in ("body", "query model"):
            raise _field_errors(error) from None
        raise _field_errors(error, (param.alias,)) from None


class LocalApi:
    def __init__(self, settings: Settings, engine: Engine, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.engine = engine
        self.sessions = sessions
        self.username: str | None = None

    @classmethod
    def open(cls, settings: Settings | None = None) -> LocalApi:
        from extci import migrate
        from extci.runtime import engine_for

        settings = settings or Settings()
        path = sqlite_path(settings.resolved_database_url)
        if path is not None and not path.exists():
            # Don't leave an empty database behind a command run in the wrong directory.
            raise CliError(
                f"No extci database at {path}. Run this where the server runs, or set "
                "EXTCI_DATABASE_URL / EXTCI_DATA_DIR; 'extci db upgrade' creates a new one. "
                "To work with a server: extci login --server URL.",
                ExitCode.CONFIG,
            )
        engine = engine_for(settings)
        try:
            migrate.ensure_current(engine)
        except ExtciError as error:
            engine.dispose()
            raise CliError(error.detail, ExitCode.CONFIG) from None
        except BaseException:
            engine.dispose()
            raise
        return cls(settings, engine, make_session_factory(engine))

    def close(self) -> None:
        self.engine.dispose()

    def as_user(self, username: str) -> LocalApi:
        """The same database, acting as ``username`` where an endpoint needs a user."""
        other = LocalApi(self.settings, self.engine, self.sessions)
        other.username = username
        return other

    def current_user(self) -> dict[str, Any] | None:
        return None

    def call(self, method: str, path: str, *, query: Query | None = None, body: Any = None) -> Any:
        route, values = self._route(method, path)
        try:
            with self._unit_of_work(method) as session:
                result = route.endpoint(**self._arguments(route, values, query, body, session))
                if isinstance(result, Response):
                    return None  # 204: every endpoint answering a Response answers no body
                if route.response is None:
                    return result
                return route.response.dump_python(result, mode="json", by_alias=True)
        except ExtciError as error:
            raise ApiError(error.problem()) from None
        except DBAPIError as error:
            problem = problem_for(error)
            if problem is None:
                raise
            raise ApiError(problem.problem()) from None

    @contextmanager
    def _unit_of_work(self, method: str) -> Iterator[Session]:
        with unit_of_work(self.sessions, write=method not in ("GET", "HEAD")) as session:
            yield session

    @staticmethod
    def _route(method: str, path: str) -> tuple[Route, dict[str, str]]:
        allowed = False
        for route in routes():
            match = route.regex.match(path)
            if match is None:
                continue
            allowed = True
            if method in route.methods:
                values = {k: urllib.parse.unquote(v) for k, v in match.groupdict().items()}
                return route, values
        status, title = (405, "Method Not Allowed") if allowed else (404, "Not Found")
        raise ApiError({"status": status, "title": title, "detail": f"{method} {path}: {title}"})

    def _arguments(
        self,
        route: Route,
        values: dict[str, str],
        query: Query | None,
        body: Any,
        session: Session,
    ) -> dict[str, Any]:
        query = query or {}
        arguments: dict[str, Any] = {}
        for param in route.params:
            if param.kind == "depends":
                continue  # below: a request refused as invalid does not look up whom it acts for
            elif param.kind == "path":
                arguments[param.name] = _validated(param, values[param.name])
            elif param.kind == "body":
                arguments[param.name] = _validated(param, body if body is not None else {})
            elif param.kind == "query model":
                given = {f: query[f] for f in param.fields if query.get(f) is not None}
                arguments[param.name] = _validated(param, given)
            elif query.get(param.alias) is not None:
                arguments[param.name] = _validated(param, query[param.alias])
            elif param.default is not _NO_VALUE:
                arguments[param.name] = param.default
        for param in route.params:
            if param.kind == "depends":
                arguments[param.name] = self._dependency(param, session)
        return arguments

    def _dependency(self, param: _Param, session: Session) -> Any:
        dependency = param.dependency
        if dependency is get_session:
            return session
        if dependency is get_settings:
            return self.settings
        if dependency is get_now:
            return SYSTEM_CLOCK.now()
        if dependency is get_as_of:
            return get_as_of(SYSTEM_CLOCK.now(), self.settings)
        if dependency is request_actor:
            return Actor.cli()
        if dependency is current_user or getattr(dependency, "__qualname__", "") == (
            "role.<locals>.check"
        ):
            # The local operator holds the database: every role check passes.
            if self.username is None:
                if dependency is current_user:
                    raise CliError(
                        "on the local database this command needs the user it acts for",
                        ExitCode.USAGE,
                    )
                return None
            return accounts.get_user(session, self.username)
        if dependency is None or dependency.__qualname__ != "call_for.<locals>.call":
            raise TypeError(f"the local API cannot provide {param.name} ({dependency!r})")
        # A Call (accounts.dependencies.call_for) is made of the dependencies above: each of
        # them, then itself. Any other dependency is refused above, so that one doing checks
        # of its own is never handed the local operator's None user by accident.
        needs = _params(dependency, "")
        return dependency(**{need.name: self._dependency(need, session) for need in needs})
