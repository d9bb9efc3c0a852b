"""SQLModel tables. `project_integrations` is the seed's table, kept exactly; the rest is additive.

No column of any table holds a secret in clear: tokens live only as AES-GCM ciphertext in
`integration_credentials`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlmodel import Field, SQLModel

from tms_console.domain.status import IntegrationStatus
from tms_console.domain.ticket_events import REST_HOOK, DeliveryStatus


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(*, nullable: bool = False, default_now: bool = True) -> Any:
    return Field(
        default_factory=utcnow if default_now else None,
        sa_column=sa.Column(
            sa.DateTime(timezone=True),
            nullable=nullable,
            server_default=sa.func.now() if default_now else None,
        ),
    )


def _texts(*, primary_key: bool = False) -> Any:
    return sa.Column(pg.ARRAY(sa.Text), nullable=False, server_default="{}", primary_key=primary_key)


class Tenant(SQLModel, table=True):
    __tablename__ = "tenants"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    created_at: datetime = _ts()


class Project(SQLModel, table=True):
    __tablename__ = "projects"
    __table_args__ = (
        sa.Index("idx_projects_tenant", "tenant_id"),
        sa.Index("idx_projects_tenant_name", "tenant_id", "name"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False)
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    created_at: datetime = _ts()


class User(SQLModel, table=True):
    """Identities of the wider TMS; the console only reads them (the demo login lists them)."""

    __tablename__ = "users"
    __table_args__ = (sa.Index("idx_users_tenant", "tenant_id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False)
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    email: str = Field(sa_column=sa.Column(sa.Text, nullable=False, unique=True))
    role: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    created_at: datetime = _ts()


class ProjectIntegration(SQLModel, table=True):
    __tablename__ = "project_integrations"
    __table_args__ = (
        sa.UniqueConstraint(
            "tenant_id",
            "project_id",
            "integration_type",
            name="project_integrations_tenant_id_project_id_integration_type_key",
        ),
        sa.Index("idx_project_integrations_project", "tenant_id", "project_id"),
        sa.Index("idx_project_integrations_type", "integration_type"),
        sa.Index("idx_project_integrations_status", "status"),
        sa.Index("idx_project_integrations_meta", "meta", postgresql_using="gin"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(nullable=False)
    project_id: uuid.UUID = Field(nullable=False)
    integration_type: str = Field(sa_column=sa.Column(sa.String(50), nullable=False))
    meta: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=sa.Column(pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    )
    status: str = Field(  # an IntegrationStatus value
        default=IntegrationStatus.ACTIVE.value,
        sa_column=sa.Column(sa.String(20), nullable=False, server_default=IntegrationStatus.ACTIVE.value),
    )
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    # Additive columns (never a secret).
    installed_by_id: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    installed_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    status_reason: str | None = Field(default=None, sa_column=sa.Column(sa.String(50)))
    status_changed_at: datetime | None = _ts(nullable=True, default_now=False)  # NULL: since created


class OverviewProject(SQLModel, table=True):
    """The admin overview's row for one project, written only by the database's triggers (0015).

    Which providers are installed, which are not active and which are active without a target, the
    last change, and what search matches (names: any part; ids: exact). Never a secret: meta's display
    fields only."""

    __tablename__ = "overview_projects"
    __table_args__ = (
        sa.Index(
            "idx_overview_projects_name",
            "tenant_id",
            "name",
            "project_id",
            postgresql_include=["last_change", "installed", "inactive", "untargeted"],
        ),
        sa.Index(
            "idx_overview_projects_change",
            "tenant_id",
            sa.text("last_change DESC NULLS LAST"),  # newest first (sort=-updated) is a forward scan
            "name",
            "project_id",
            postgresql_include=["installed", "inactive", "untargeted"],
        ),
        sa.Index(
            "idx_overview_projects_text",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
        sa.Index("idx_overview_projects_ids", "search_ids", postgresql_using="gin"),
    )

    project_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    )
    tenant_id: uuid.UUID = Field(nullable=False)
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    last_change: datetime | None = _ts(nullable=True, default_now=False)
    installed: list[str] = Field(default_factory=list, sa_column=_texts())
    inactive: list[str] = Field(default_factory=list, sa_column=_texts())
    untargeted: list[str] = Field(default_factory=list, sa_column=_texts())
    search_text: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    search_ids: list[str] = Field(default_factory=list, sa_column=_texts())


class OverviewTotal(SQLModel, table=True):
    """Per tenant and provider: integrations installed, not active, active without a target (0015's
    trigger moves them by one on every write; the overview's totals read these few rows)."""

    __tablename__ = "overview_totals"

    tenant_id: uuid.UUID = Field(primary_key=True)
    integration_type: str = Field(sa_column=sa.Column(sa.String(50), primary_key=True))
    installed: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))
    inactive: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))
    untargeted: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))


class OverviewSignature(SQLModel, table=True):
    """How many projects of a tenant have one status signature (which providers are installed, not
    active, active without a target): moved by 0017's trigger on every write to `overview_projects`, so
    a status filter's count is a sum over a few hundred rows at most, never a count of the projects."""

    __tablename__ = "overview_signatures"

    tenant_id: uuid.UUID = Field(primary_key=True)
    installed: list[str] = Field(default_factory=list, sa_column=_texts(primary_key=True))
    inactive: list[str] = Field(default_factory=list, sa_column=_texts(primary_key=True))
    untargeted: list[str] = Field(default_factory=list, sa_column=_texts(primary_key=True))
    projects: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))


class OverviewTenant(SQLModel, table=True):
    """Each tenant's number of projects, moved by 0015's trigger on `projects` (never counted per request)."""

    __tablename__ = "overview_tenants"

    tenant_id: uuid.UUID = Field(primary_key=True)
    projects: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))


class IntegrationCredential(SQLModel, table=True):
    __tablename__ = "integration_credentials"

    integration_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid,
            sa.ForeignKey("project_integrations.id", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    key_id: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    nonce: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    ciphertext: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    expires_at: datetime | None = _ts(nullable=True, default_now=False)
    updated_at: datetime = _ts()


class IntegrationEvent(SQLModel, table=True):
    """Audit trail. Survives uninstall (no foreign key to the integration row)."""

    __tablename__ = "integration_events"
    __table_args__ = (
        sa.Index("idx_integration_events_project", "tenant_id", "project_id", "created_at"),
        sa.Index("idx_integration_events_tenant", "tenant_id", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(nullable=False)
    project_id: uuid.UUID = Field(nullable=False)
    integration_id: uuid.UUID | None = Field(default=None)
    integration_type: str = Field(sa_column=sa.Column(sa.String(50), nullable=False))
    action: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    reason: str | None = Field(default=None, sa_column=sa.Column(sa.String(50)))
    actor_id: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    actor_name: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    ip: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))
    user_agent: str | None = Field(default=None, sa_column=sa.Column(sa.String(512)))
    from_status: str | None = Field(default=None, sa_column=sa.Column(sa.String(20)))  # status_changed only
    to_status: str | None = Field(default=None, sa_column=sa.Column(sa.String(20)))
    created_at: datetime = _ts()


class TenantSettings(SQLModel, table=True):
    """A tenant's console settings: which of its own integrations tells the admins that another one needs
    attention. Uninstalling that integration clears the choice (the foreign key sets it to null)."""

    __tablename__ = "tenant_settings"

    tenant_id: uuid.UUID = Field(primary_key=True)
    notify_integration_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("project_integrations.id", ondelete="SET NULL"), nullable=True
        ),
    )
    updated_at: datetime = _ts()
    updated_by: str | None = Field(default=None, sa_column=sa.Column(sa.Text))


class TicketEvent(SQLModel, table=True):
    """A ticket event as the TMS posted it, and the answer it was given (replayed to a repeated id)."""

    __tablename__ = "ticket_events"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "event_id", name="ticket_events_tenant_event_key"),
        sa.Index("idx_ticket_events_project", "tenant_id", "project_id", "received_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(nullable=False)
    project_id: uuid.UUID = Field(nullable=False)
    event_id: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    type: str = Field(sa_column=sa.Column(sa.String(50), nullable=False))
    payload: dict[str, Any] = Field(sa_column=sa.Column(pg.JSONB, nullable=False))
    answer: dict[str, Any] = Field(sa_column=sa.Column(pg.JSONB, nullable=False))
    received_at: datetime = _ts()


class Delivery(SQLModel, table=True):
    """One event to one integration. No secret: the target is read from the integration when sending.

    No foreign key to the integration: the delivery log outlives an uninstall, like the audit trail.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        sa.Index("idx_deliveries_event", "ticket_event_id"),
        sa.Index("idx_deliveries_project", "tenant_id", "project_id", "created_at"),
        sa.Index("idx_deliveries_integration", "integration_id", "status"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    ticket_event_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("ticket_events.id", ondelete="CASCADE"), nullable=False)
    )
    tenant_id: uuid.UUID = Field(nullable=False)
    project_id: uuid.UUID = Field(nullable=False)
    integration_id: uuid.UUID = Field(nullable=False)
    integration_type: str = Field(sa_column=sa.Column(sa.String(50), nullable=False))
    status: str = Field(  # a DeliveryStatus value
        default=DeliveryStatus.PENDING.value,
        sa_column=sa.Column(sa.String(20), nullable=False, server_default=DeliveryStatus.PENDING.value),
    )
    attempts: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    next_attempt_at: datetime | None = _ts(nullable=True, default_now=False)
    last_reason: str | None = Field(default=None, sa_column=sa.Column(sa.String(50)))
    delivered_at: datetime | None = _ts(nullable=True, default_now=False)


class DeliveryAttempt(SQLModel, table=True):
    """One try of one delivery, for the delivery log: outcome, status, latency, reason; never a secret."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (
        sa.Index("idx_delivery_attempts_delivery", "delivery_id", "attempt"),
        sa.Index("idx_delivery_attempts_started", "started_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    delivery_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False)
    )
    attempt: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    started_at: datetime = _ts()
    duration_ms: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    outcome: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))  # an Outcome value
    http_status: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    reason: str | None = Field(default=None, sa_column=sa.Column(sa.String(50)))
    retry_after: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    detail: str | None = Field(default=None, sa_column=sa.Column(sa.String(1024)))
    next_attempt_at: datetime | None = _ts(nullable=True, default_now=False)


class TicketThread(SQLModel, table=True):
    """The platform's handle of a ticket's first message per integration: later events reply into it.

    Keyed on the integration row's id, which a reconnect keeps (the install upserts the same row).
    """

    __tablename__ = "ticket_threads"

    integration_id: uuid.UUID = Field(primary_key=True)
    ticket_id: str = Field(sa_column=sa.Column(sa.String(200), primary_key=True))
    handle: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    created_at: datetime = _ts()


class DeliveryHealth(SQLModel, table=True):
    """Each integration's last delivery outcome and whether its deliveries are failing.

    Kept current in the transaction that records each outcome, so a card or the admin overview reads one
    row per integration instead of scanning deliveries. No foreign key (like deliveries); an uninstall
    deletes the row with the integration. `last_status` is a DeliveryStatus value, or "retrying".
    """

    __tablename__ = "delivery_health"
    __table_args__ = (
        sa.Index(
            "idx_delivery_health_failing", "tenant_id", "project_id", postgresql_where=sa.text("failing")
        ),
    )

    integration_id: uuid.UUID = Field(primary_key=True)
    tenant_id: uuid.UUID = Field(nullable=False)
    project_id: uuid.UUID = Field(nullable=False)
    integration_type: str = Field(sa_column=sa.Column(sa.String(50), nullable=False))
    last_delivery_at: datetime = _ts()
    last_status: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    last_reason: str | None = Field(default=None, sa_column=sa.Column(sa.String(50)))
    failing: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    )
    failing_since: datetime | None = _ts(nullable=True, default_now=False)
    updated_at: datetime = _ts()


class IntegrationHealth(SQLModel, table=True):
    """Each integration's health checks and token refreshes: when, how they went, what comes next.

    `check_failures` counts checks in a row that failed for now (a refused check changes the status
    instead); `refresh_attempts` counts refreshes in a row that failed for now (the backoff), and
    `refresh_failures` the days among them (at most one a day, from `first_refresh_failure_at`).
    Deleted with the integration.
    """

    __tablename__ = "integration_health"

    integration_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid,
            sa.ForeignKey("project_integrations.id", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    last_checked_at: datetime | None = _ts(nullable=True, default_now=False)
    last_check_reason: str | None = Field(default=None, sa_column=sa.Column(sa.String(50)))
    check_failures: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    last_refreshed_at: datetime | None = _ts(nullable=True, default_now=False)
    refresh_attempts: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    refresh_failures: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    first_refresh_failure_at: datetime | None = _ts(nullable=True, default_now=False)
    last_refresh_failure_at: datetime | None = _ts(nullable=True, default_now=False)
    retry_refresh_at: datetime | None = _ts(nullable=True, default_now=False)


class RestHook(SQLModel, table=True):
    """A REST Hook subscription (Zapier, Make): a project's ticket events of one type (or `*`, all),
    POSTed as signed JSON to a URL.

    The target URL is a secret (anyone holding a Zap's catch-hook URL can post into the Zap), so it is
    sealed with the hook's signing secret, AES-GCM with an AAD naming tenant, project and this row.
    `display_url` is its scheme and host only, for listings.
    """

    __tablename__ = "rest_hooks"
    __table_args__ = (sa.Index("idx_rest_hooks_project", "tenant_id", "project_id", "event"),)
    integration_type: ClassVar[str] = REST_HOOK  # as its deliveries name it

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(nullable=False)
    project_id: uuid.UUID = Field(nullable=False)
    event: str = Field(sa_column=sa.Column(sa.String(50), nullable=False))  # an event type, or "*"
    display_url: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    key_id: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    nonce: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    ciphertext: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    created_at: datetime = _ts()
    created_by_id: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    created_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
