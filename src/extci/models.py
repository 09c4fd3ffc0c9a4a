"""Every table, imported in one place for Alembic and the schema check."""

from extci.accounts.models import PersonalAccessToken, User, WebSession
from extci.accounts.throttle import SignInFailure
from extci.audit.models import AuditEntry
from extci.builds.models import Build, BuildEvent, BuildResult
from extci.components.models import Component
from extci.db import Base
from extci.ingest.models import RateWindow
from extci.keys.models import CIKey
from extci.trust.models import TrustPolicy, TrustRateWindow
from extci.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

__all__ = [
    "AuditEntry",
    "Base",
    "Build",
    "BuildEvent",
    "BuildResult",
    "CIKey",
    "Component",
    "PersonalAccessToken",
    "RateWindow",
    "SignInFailure",
    "TrustPolicy",
    "TrustRateWindow",
    "User",
    "WebSession",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
]
