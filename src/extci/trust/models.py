"""OIDC trust policies: which identity tokens a component accepts instead of a CI key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from extci.db import Base, UTCDateTime


class TrustPolicy(Base):
    """A token is trusted for ``component_id`` when ``issuer`` signed it, ``audience`` is
    among its ``aud`` and every claim in ``claims`` has exactly the given value."""

    __tablename__ = "trust_policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    component_id: Mapped[str] = mapped_column(
        ForeignKey("components.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    issuer: Mapped[str] = mapped_column(String(2048), index=True)
    audience: Mapped[str] = mapped_column(String(255))
    claims: Mapped[dict[str, str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(255))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TrustRateWindow(Base):
    """A trust policy's current one-minute request window (PostgreSQL deployments): the
    budget of a CI key, counted per policy (``rate_windows`` is per key)."""

    __tablename__ = "trust_rate_windows"

    policy_id: Mapped[int] = mapped_column(
        ForeignKey("trust_policies.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    count: Mapped[int] = mapped_column(Integer)
