from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from extci.components.kinds import CiMode, ComponentKind
from extci.constraints import one_of
from extci.db import Base, UTCDateTime


class Component(Base):
    __tablename__ = "components"
    __table_args__ = (
        CheckConstraint(one_of("kind", ComponentKind), name="kind"),
        CheckConstraint(one_of("ci_mode", CiMode), name="ci_mode"),
    )

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    ci_mode: Mapped[str] = mapped_column(String(16), default=CiMode.PLATFORM)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    @property
    def platform_builds(self) -> bool:
        """The platform's own Release and Preview builds run only in platform mode."""
        return self.ci_mode == CiMode.PLATFORM


class ComponentOwned:
    """The columns of a row a component owns and its page lists: its CI keys and its trust
    policies (:mod:`extci.components.owned` reads them). ``sort_order`` keeps the table's
    column order: id, component_id and name first, then the model's own columns, then who
    made it and when it was last used."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True, sort_order=-1)
    component_id: Mapped[str] = mapped_column(
        ForeignKey("components.id", ondelete="CASCADE"), index=True, sort_order=-1
    )
    name: Mapped[str] = mapped_column(String(255), sort_order=-1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), sort_order=1)
    created_by: Mapped[str] = mapped_column(String(255), sort_order=1)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), sort_order=1)
