from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from extci.schemas import NAME_PATTERN, UNICODE_TEXT, ApiModel, Name
from extci.trust import service
from extci.trust.models import TrustPolicy

# The rules of extci.trust.service, stated for the OpenAPI document; the service checks
# them (the issuer's pattern only in the schema here: tests allow http issuers).
Issuer = Annotated[
    str,
    Field(
        min_length=1,
        max_length=service.MAX_ISSUER,
        json_schema_extra={"pattern": service.ISSUER_PATTERN},
        description="The token issuer, e.g. https://token.actions.githubusercontent.com "
        "or https://gitlab.example.org",
    ),
    UNICODE_TEXT,
]
Audience = Annotated[
    str,
    StringConstraints(min_length=1, max_length=service.MAX_AUDIENCE, pattern=NAME_PATTERN),
    UNICODE_TEXT,
]
ClaimName = Annotated[
    str, StringConstraints(pattern=service.CLAIM_NAME_PATTERN, max_length=64), UNICODE_TEXT
]
ClaimValue = Annotated[
    str,
    StringConstraints(min_length=1, max_length=service.MAX_CLAIM_VALUE, pattern=NAME_PATTERN),
    UNICODE_TEXT,
]


class TrustPolicyCreate(ApiModel):
    name: Name
    issuer: Issuer
    audience: Audience = Field(description="A value the token's aud must hold")
    claims: Annotated[
        dict[ClaimName, ClaimValue],
        Field(
            min_length=1,
            max_length=service.MAX_CLAIMS,
            json_schema_extra={"additionalProperties": False},  # names: the pattern only
            description="Claim conditions, all of which must hold exactly, e.g. "
            '{"repository": "acme/orders", "ref": "refs/heads/main"} (GitHub) or '
            '{"project_path": "acme/orders", "ref": "main"} (GitLab)',
        ),
    ]


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
        return cls.model_validate(policy)
