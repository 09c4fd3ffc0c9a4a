"""pipelineId unique per component; indexes for every history read; result counts

- ``builds.pipeline_id`` was unique across the installation; it is now unique within its
  component, so one component's CI key cannot squat another component's pipeline ids.
- ``branch_key`` (a digest of the branch) and ``result_count`` are new columns, filled in
  from the existing rows.
- Indexes (component_id, status|build_version|branch_key, id) let each filtered history page
  walk an index newest first.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = {
    "ix_builds_component_id_status_id": ["component_id", "status", "id"],
    "ix_builds_component_id_build_version_id": ["component_id", "build_version", "id"],
    "ix_builds_component_id_branch_key_id": ["component_id", "branch_key", "id"],
}


def _branch_key(branch: str) -> str:
    # Kept here rather than imported: a migration must not change when the app does.
    return hashlib.sha256(branch.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def upgrade() -> None:
    with op.batch_alter_table("builds") as batch_op:
        batch_op.drop_constraint("uq_builds_pipeline_id", type_="unique")
        batch_op.create_unique_constraint(
            "uq_builds_component_id_pipeline_id", ["component_id", "pipeline_id"]
        )
        batch_op.add_column(sa.Column("branch_key", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("result_count", sa.Integer(), nullable=False, server_default="0")
        )
    conn = op.get_bind()
    builds = sa.table(
        "builds",
        sa.column("id", sa.Integer),
        sa.column("branch", sa.Text),
        sa.column("branch_key", sa.String),
        sa.column("result_count", sa.Integer),
    )
    branches = conn.execute(
        sa.select(builds.c.id, builds.c.branch).where(builds.c.branch.is_not(None))
    ).all()
    if branches:
        conn.execute(
            builds.update()
            .where(builds.c.id == sa.bindparam("b_id"))
            .values(branch_key=sa.bindparam("b_key")),
            [{"b_id": i, "b_key": _branch_key(b)} for i, b in branches],
        )
    results = sa.table("build_results", sa.column("build_id", sa.Integer))
    counted = (
        sa.select(sa.func.count())
        .select_from(results)
        .where(results.c.build_id == builds.c.id)
        .scalar_subquery()
    )
    conn.execute(builds.update().values(result_count=counted))
    with op.batch_alter_table("builds") as batch_op:
        for name, columns in _INDEXES.items():
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("builds") as batch_op:
        for name in _INDEXES:
            batch_op.drop_index(name)
        batch_op.drop_column("result_count")
        batch_op.drop_column("branch_key")
        batch_op.drop_constraint("uq_builds_component_id_pipeline_id", type_="unique")
        batch_op.create_unique_constraint("uq_builds_pipeline_id", ["pipeline_id"])
