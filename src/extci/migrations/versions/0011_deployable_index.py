"""the deployable index: a component's SUCCESSFUL builds by branch, newest first, so "what
can I deploy from main?" is one index probe however long the history is (a partial index:
only SUCCESSFUL rows are in it, so the webhook's inserts and status changes of builds that
are not SUCCESSFUL do not touch it)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUCCESSFUL = sa.text("status = 'SUCCESSFUL'")


def upgrade() -> None:
    op.create_index(
        "ix_builds_deployable",
        "builds",
        ["component_id", "branch_key", "id"],
        sqlite_where=SUCCESSFUL,
        postgresql_where=SUCCESSFUL,
    )


def downgrade() -> None:
    op.drop_index("ix_builds_deployable", table_name="builds")
