"""build status checks: the database refuses a status or end result the code doesn't know

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUS = "status IN ('BUILDING', 'SUCCESSFUL', 'INCOMPLETE', 'FAILED', 'CANCELLED')"
END_RESULT = "end_result IS NULL OR end_result IN ('SUCCESSFUL', 'FAILED', 'CANCELED')"


def upgrade() -> None:
    with op.batch_alter_table("builds") as batch_op:
        batch_op.create_check_constraint(op.f("ck_builds_status"), STATUS)
        batch_op.create_check_constraint(op.f("ck_builds_end_result"), END_RESULT)


def downgrade() -> None:
    with op.batch_alter_table("builds") as batch_op:
        batch_op.drop_constraint(op.f("ck_builds_end_result"), type_="check")
        batch_op.drop_constraint(op.f("ck_builds_status"), type_="check")
