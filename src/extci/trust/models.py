"""OIDC trust policies: which identity tokens a component accepts instead of a CI key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from extci.components.models import ComponentOwned
from extci.db import Base, UTCDateTime


class TrustPolicy(ComponentOwned, Base):
    """A token is trusted for ``component_id`` when ``issuer`` signed it, ``audience`` is
    among its ``aud`` and every claim in ``claims`` has exactly the given value."""

    __tablename__ = "trust_policies"

    issuer: Mapped[str] = mapped_column(String(2048), index=True)
    audience: Mapped[str] = mapped_column(String(255))
    claims: Mapped[dict[str, str]] = mapped_column(JSON)


class TrustRateWindow(Base):
    """A trust policy's current one-minute request window (PostgreSQL deployments): the
    budget of a CI key, counted per policy (``rate_windows`` is per key)."""

    __tablename__ = "trust_rate_windows"

    policy_id: Mapped[int] = mapped_column(
        ForeignKey("trust_policies.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    count: Mapped[int] = mapped_column(Integer)
