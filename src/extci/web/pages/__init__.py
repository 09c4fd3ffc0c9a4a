"""The web UI's pages, one module per subject; :func:`extci.web.views.install` wires them."""

from __future__ import annotations

from fastapi.routing import APIRouter

from extci.web.pages.builds import router as builds
from extci.web.pages.components import router as components
from extci.web.pages.downloads import router as downloads
from extci.web.pages.keys import router as keys
from extci.web.pages.live import router as live
from extci.web.pages.session import router as session
from extci.web.pages.trust import router as trust
from extci.web.pages.users import router as users
from extci.web.pages.webhooks import router as webhooks

# In this order: the first route that matches a path wins.
ROUTERS: tuple[APIRouter, ...] = (
    session,
    components,
    keys,
    builds,
    live,
    users,
    downloads,
    trust,
    webhooks,
)
