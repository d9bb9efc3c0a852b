"""The Microsoft Teams sandbox's fake world: two Entra tenants, one user each, their teams and channels.

Contoso lets users consent for themselves; Fabrikam, like many real tenants, requires an admin to
consent first (until `/v2.0/adminconsent` is approved for it), so the console's consent_required
path can be exercised. Everything is constant, so every run and every worker sees the same ids.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


def _thread_id(seed: str) -> str:
    # Channel ids look like the real ones ("19:<hex>@thread.tacv2") and need URL-escaping the same way.
    return f"19:{hashlib.sha256(seed.encode()).hexdigest()[:32]}@thread.tacv2"


@dataclass(frozen=True)
class Channel:
    """A channel of a team."""

    id: str
    display_name: str
    description: str
    membership_type: str = "standard"


@dataclass(frozen=True)
class Team:
    """A team; `joined` says whether the tenant's sandbox user is a member."""

    id: str
    display_name: str
    description: str
    channels: tuple[Channel, ...]
    joined: bool = True

    def channel(self, channel_id: str) -> Channel | None:
        """The channel with this id in this team, if any."""
        return next((c for c in self.channels if c.id == channel_id), None)


@dataclass(frozen=True)
class User:
    """The one user who signs in to a sandbox tenant."""

    oid: str
    display_name: str
    given_name: str
    surname: str
    upn: str
    job_title: str


@dataclass(frozen=True)
class Tenant:
    """An Entra tenant (directory) with its user and teams."""

    id: str
    domain: str
    display_name: str
    user: User
    teams: tuple[Team, ...]
    requires_admin_consent: bool = False  # users may not consent to apps themselves

    def team(self, team_id: str) -> Team | None:
        """The team with this id in this tenant, if any."""
        return next((t for t in self.teams if t.id == team_id), None)


def _channels(team: str, *names: str) -> tuple[Channel, ...]:
    general = Channel(_thread_id(f"{team}:General"), "General", f"{team} team discussion")
    rest = tuple(Channel(_thread_id(f"{team}:{n}"), n, f"{n} for the {team} team") for n in names)
    return (general, *rest)


CONTOSO = Tenant(
    id="c0a1b2c3-0000-4000-8000-000000000001",
    domain="contoso-sandbox.onmicrosoft.com",
    display_name="Contoso (sandbox)",
    user=User(
        oid="c0a1b2c3-0000-4000-8000-0000000000a1",
        display_name="Megan Bowen",
        given_name="Megan",
        surname="Bowen",
        upn="megan.bowen@contoso-sandbox.onmicrosoft.com",
        job_title="Support Lead",
    ),
    teams=(
        # More channels than one Graph page (see msteams_graph.PAGE_SIZE), so paging is exercised.
        Team(
            "c0a1b2c3-0000-4000-8000-0000000001a1",
            "Customer Support",
            "Front-line support",
            _channels("Customer Support", "support-alerts", "tickets", "escalations", "vip", "night-shift"),
        ),
        Team(
            "c0a1b2c3-0000-4000-8000-0000000001a2",
            "Operations",
            "Ops and incidents",
            _channels("Operations", "ops-alerts", "incidents"),
        ),
        Team(
            "c0a1b2c3-0000-4000-8000-0000000001a3",
            "Leadership",
            "Not joined by the sandbox user",
            _channels("Leadership", "board"),
            joined=False,
        ),
    ),
)

FABRIKAM = Tenant(
    id="fab00000-0000-4000-8000-000000000002",
    domain="fabrikam-sandbox.onmicrosoft.com",
    display_name="Fabrikam (sandbox)",
    user=User(
        oid="fab00000-0000-4000-8000-0000000000b1",
        display_name="Adele Vance",
        given_name="Adele",
        surname="Vance",
        upn="adele.vance@fabrikam-sandbox.onmicrosoft.com",
        job_title="Help Desk Agent",
    ),
    teams=(
        Team(
            "fab00000-0000-4000-8000-0000000002b1",
            "Help Desk",
            "Internal IT help desk",
            _channels("Help Desk", "helpdesk-alerts"),
        ),
    ),
    requires_admin_consent=True,
)

TENANTS: tuple[Tenant, ...] = (CONTOSO, FABRIKAM)
# Authority segments that stand for "whichever work account signs in" (PROVIDERS.md §3.2).
MULTI_TENANT = ("organizations", "common")


def tenant(ident: str | None) -> Tenant | None:
    """The tenant with this id (GUID) or verified domain, case-insensitively."""
    wanted = (ident or "").lower()
    return next((t for t in TENANTS if wanted in (t.id, t.domain)), None)


def tenants_for(authority: str) -> tuple[Tenant, ...] | None:
    """Tenants whose users may sign in through `/{authority}/...`; None for an unknown authority."""
    if authority.lower() in MULTI_TENANT:
        return TENANTS
    found = tenant(authority)
    return (found,) if found else None
