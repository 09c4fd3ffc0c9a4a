"""OIDC trust policies: keyless CI authentication per component, and their shared
rate-limit windows

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from extci.db import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "trust_policies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("component_id", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("issuer", sa.String(length=2048), nullable=False),
        sa.Column("audience", sa.String(length=255), nullable=False),
        sa.Column("claims", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["component_id"],
            ["components.id"],
            name=op.f("fk_trust_policies_component_id_components"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trust_policies")),
    )
    op.create_index(op.f("ix_trust_policies_component_id"), "trust_policies", ["component_id"])
    op.create_index(op.f("ix_trust_policies_issuer"), "trust_policies", ["issuer"])
    op.create_table(
        "trust_rate_windows",
        sa.Column("policy_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("window_start", UTCDateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["trust_policies.id"],
            name=op.f("fk_trust_rate_windows_policy_id_trust_policies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("policy_id", name=op.f("pk_trust_rate_windows")),
    )


def downgrade() -> None:
    op.drop_table("trust_rate_windows")
    op.drop_table("trust_policies")
