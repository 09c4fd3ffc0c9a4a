from __future__ import annotations

from datetime import datetime

from pydantic import Field

from extci.schemas import ApiModel, Name, Text
from extci.trust.models import TrustPolicy


class TrustPolicyCreate(ApiModel):
    name: Name
    issuer: Text = Field(
        description="The token issuer, e.g. https://token.actions.githubusercontent.com "
        "or https://gitlab.example.org",
        max_length=2048,
    )
    audience: Text = Field(description="A value the token's aud must hold", max_length=255)
    claims: dict[Text, Text] = Field(
        description="Claim conditions, all of which must hold exactly, e.g. "
        '{"repository": "acme/orders", "ref": "refs/heads/main"} (GitHub) or '
        '{"project_path": "acme/orders", "ref": "main"} (GitLab)'
    )


class TrustPolicyOut(ApiModel):
    id: int
    component_id: str
    name: str
    issuer: str
    audience: str
    claims: dict[str, str]
    created_at: datetime
    created_by: str
    last_used_at: datetime | None

    @classmethod
    def of(cls, policy: TrustPolicy) -> TrustPolicyOut:
        return cls(
            id=policy.id,
            component_id=policy.component_id,
            name=policy.name,
            issuer=policy.issuer,
            audience=policy.audience,
            claims=dict(policy.claims),
            created_at=policy.created_at,
            created_by=policy.created_by,
            last_used_at=policy.last_used_at,
        )
