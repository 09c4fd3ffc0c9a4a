"""drop the (component_id, branch, id) index: a branch may be 1024 characters, and a
multi-byte one overflows PostgreSQL's index row limit; the branch filter walks the
component's history through ix_builds_component_id_id instead

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("builds") as batch_op:
        batch_op.drop_index("ix_builds_component_id_branch_id")


def downgrade() -> None:
    with op.batch_alter_table("builds") as batch_op:
        batch_op.create_index(
            "ix_builds_component_id_branch_id", ["component_id", "branch", "id"], unique=False
        )
