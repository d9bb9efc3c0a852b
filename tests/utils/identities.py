"""The demo seed's identities and projects, by name."""

from __future__ import annotations

import uuid

from devtools.seed import demo_id
from tms_console.security.identity import Identity, issue_token
from tms_console.settings import get_settings


def identity(tenant: str = "Acme", email: str = "alice@acme.example", role: str = "agent") -> Identity:
    name = email.split("@")[0].title()
    return Identity(str(demo_id(tenant, email)), name, demo_id(tenant), role)  # type: ignore[arg-type]


def token_for(tenant: str = "Acme", email: str = "alice@acme.example") -> str:
    return issue_token(identity(tenant, email), get_settings())


def project_id(tenant: str = "Acme", name: str = "Customer Support") -> uuid.UUID:
    return demo_id(tenant, name)
