"""users: active flag and case-insensitively unique names; the audit log

A database where two usernames differ only in case (``Admin`` and ``admin``) is refused
with a message naming them, before anything changes: which account should keep the name
is the operator's decision, not a migration's.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from extci.db import UTCDateTime
from extci.errors import Conflict

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


FIX = (
    "Rename all but one of each (for example UPDATE users SET username = 'admin-2' "
    "WHERE id = 7;), then run 'extci db upgrade' again. Nothing was changed."
)


def _refuse_case_duplicates() -> None:
    rows = op.get_bind().execute(
        sa.text(
            "SELECT id, username FROM users WHERE lower(username) IN ("
            "SELECT lower(username) FROM users GROUP BY lower(username) HAVING count(*) > 1"
            ") ORDER BY lower(username), id"
        )
    )
    clashes = [f"{name} (id {user_id})" for user_id, name in rows]
    if clashes:
        listed = ", ".join(clashes)
        raise Conflict(f"Usernames must be unique ignoring case; these are not: {listed}. {FIX}")


def upgrade() -> None:
    _refuse_case_duplicates()
    op.add_column(
        "users", sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False)
    )
    op.create_index("uq_users_username_lower", "users", [sa.text("lower(username)")], unique=True)
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("component_id", sa.String(length=63), nullable=True),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    op.create_index("ix_audit_entries_action_id", "audit_entries", ["action", "id"])
    op.create_index("ix_audit_entries_actor_id", "audit_entries", ["actor", "id"])
    op.create_index("ix_audit_entries_component_id_id", "audit_entries", ["component_id", "id"])


def downgrade() -> None:
    op.drop_table("audit_entries")
    op.drop_index("uq_users_username_lower", table_name="users")
    # Not batch mode: recreating ``users`` would cascade-delete its tokens and sessions.
    op.drop_column("users", "active")
