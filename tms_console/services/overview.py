"""The admin overview: every project of the tenant against every provider, at a glance.

Admins only. A fixed number of queries per page whatever its size: the tenant's kept totals and failing
count (one), the page of matching projects (one; a count too when the totals cannot say how many
match), and their integrations with their delivery health (one). Statuses come from the rows
(`status`, and whether a target was picked); decrypting tens of thousands of credentials to spot a
broken key is left to each project's own page, which shows "needs reconnect".
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from tms_console.domain import status_reasons
from tms_console.domain.errors import ServiceError
from tms_console.domain.reasons import Reason
from tms_console.domain.status import IntegrationStatus, OverviewBucket
from tms_console.persistence import overview_queries as queries
from tms_console.providers.registry import PROVIDERS
from tms_console.security.identity import Identity
from tms_console.services import credentials, installations
from tms_console.services.unit_of_work import unit_of_work

STATUSES: tuple[str, ...] = tuple(OverviewBucket)
SORTS = ("name", "-name", "updated", "-updated")
MAX_PAGE_SIZE = 200
MAX_SEARCH = 200
MIN_SEARCH = 3  # trigram search: shorter text would match nearly everything and use no index
SEARCH_TOO_SHORT = f"Type at least {MIN_SEARCH} characters to search (or an exact id)."


class NotAllowed(ServiceError):
    """The caller is signed in but may not do this (an agent asking for the admin overview)."""

    status_code = 403


@dataclass  # not frozen: its __init__ then costs a quarter (350 cells a page); nothing changes one
class Cell:
    status: OverviewBucket
    account: str = ""
    channel: str = ""
    updated_at: str = ""
    failing: bool = False  # its deliveries are failing (until one is delivered)
    failing_since: str = ""
    state: str = IntegrationStatus.NOT_CONNECTED.value  # the integration's own status (not its bucket)
    detail: str = ""  # that status and its reason in plain words, with the action that fixes it


NOT_CONNECTED = Cell(OverviewBucket.NOT_CONNECTED)


@dataclass(frozen=True)
class ProjectRow:
    id: str
    name: str
    last_change: str
    cells: dict[str, Cell]


@dataclass(frozen=True)
class ProviderRef:
    """A provider as the overview lists it (registry order)."""

    key: str
    name: str


@dataclass(frozen=True)
class Overview:
    total_projects: int
    matching: int
    page: int
    page_size: int
    providers: list[ProviderRef]
    by_status: dict[str, int]
    by_provider: dict[str, dict[str, int]]
    projects: list[ProjectRow] = field(default_factory=list)
    failing: int = 0  # integrations of the tenant whose deliveries are failing


@dataclass(frozen=True)
class Query:
    status: str | None = None
    provider: str | None = None
    needs_attention: bool = False
    search: str | None = None
    sort: str = "name"
    page: int = 1
    page_size: int = 50
    failing: bool = False  # only projects with an integration whose deliveries are failing

    def validated(self) -> Query:
        if self.status is not None and self.status not in STATUSES:
            raise ServiceError(Reason.INVALID_INPUT, f"status must be one of {', '.join(STATUSES)}")
        if self.provider is not None and self.provider not in PROVIDERS:
            raise ServiceError(Reason.INVALID_INPUT, "unknown provider")
        if self.sort not in SORTS:
            raise ServiceError(Reason.INVALID_INPUT, f"sort must be one of {', '.join(SORTS)}")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE or self.page < 1:
            raise ServiceError(Reason.INVALID_INPUT, f"page >= 1 and 1 <= page_size <= {MAX_PAGE_SIZE}")
        search = (self.search or "").strip()
        if len(search) > MAX_SEARCH or not search.isprintable():
            raise ServiceError(Reason.INVALID_INPUT, "search is too long or malformed")
        if 0 < len(search) < MIN_SEARCH:
            raise ServiceError(Reason.INVALID_INPUT, SEARCH_TOO_SHORT)
        return Query(
            self.status,
            self.provider,
            self.needs_attention,
            search or None,
            self.sort,
            self.page,
            self.page_size,
            self.failing,
        )


def require_admin(identity: Identity) -> None:
    if not identity.is_admin:
        raise NotAllowed(Reason.NOT_ALLOWED, "only tenant admins see the overview")


def _targeted() -> list[str]:
    return [spec.key for spec in PROVIDERS.values() if spec.target_label]


def cell(row: queries.PageIntegration) -> Cell:
    _, kind, account, channel, target_id, stored, reason, updated, failing_since, failing = row
    bucket, state, detail = _status_of(kind, stored, reason, bool(target_id))
    return Cell(bucket, account, channel, updated, failing, failing_since, state, detail)


@functools.lru_cache(maxsize=1024)
def _status_of(kind: str, stored: str, reason: str | None, targeted: bool) -> tuple[OverviewBucket, str, str]:
    """(bucket, status, its explanation) of a provider's stored status and reason code, with a target
    picked or not: a few dozen combinations, worked out once rather than for each of a page's 350 cells."""
    spec = PROVIDERS.get(kind)
    needs_target = spec is not None and installations.needs_target(spec, {"target_id": targeted})
    # Credentials are not decrypted here (see the module docstring): read as readable.
    status = IntegrationStatus.of_row(stored, readable=True, needs_target=needs_target)
    return status.bucket, status.value, status_reasons.explain(status.value, reason)


def _by_provider(
    projects: int, totals: list[queries.ProviderTotal], targeted: list[str]
) -> dict[str, dict[str, int]]:
    """Each provider's projects by bucket, from the tenant's kept totals (see `cell` for the rule)."""
    by_provider = {key: dict.fromkeys(STATUSES, 0) for key in PROVIDERS}
    for kind in totals:
        if kind.integration_type not in by_provider:
            continue
        attention = kind.inactive + (kind.untargeted if kind.integration_type in targeted else 0)
        counts = by_provider[kind.integration_type]
        counts[OverviewBucket.NEEDS_ATTENTION] = attention
        counts[OverviewBucket.CONNECTED] = kind.installed - attention
    for counts in by_provider.values():
        connected = counts[OverviewBucket.CONNECTED] + counts[OverviewBucket.NEEDS_ATTENTION]
        counts[OverviewBucket.NOT_CONNECTED] = max(0, projects - connected)
    return by_provider


def _known_total(query: Query, projects: int, by_provider: dict[str, dict[str, int]]) -> int | None:
    """How many projects match, when the kept totals say it (no search, no flag; at most a provider and
    a status of it: one integration per project and provider); None when they must be counted."""
    if query.search or query.needs_attention or query.failing:
        return None
    if query.provider is None:
        return projects if query.status is None else None
    counts = by_provider[query.provider]
    if query.status is None:
        return counts[OverviewBucket.CONNECTED] + counts[OverviewBucket.NEEDS_ATTENTION]
    return counts[query.status]


async def overview(identity: Identity, query: Query) -> Overview:
    require_admin(identity)
    query = query.validated()
    tenant = identity.tenant_id
    targeted = _targeted()
    async with unit_of_work(autocommit=True) as session:  # reads; a dashboard needs no common snapshot
        total, failing, totals = await queries.overview_totals(session, tenant_id=tenant)
        by_provider = _by_provider(total, totals, targeted)
        matching, page = await queries.overview_page(
            session,
            tenant_id=tenant,
            targeted=targeted,
            status=query.status,
            provider=query.provider,
            needs_attention=query.needs_attention,
            search=query.search,
            sort=query.sort,
            limit=query.page_size,
            offset=(query.page - 1) * query.page_size,
            failing=query.failing,
            known_total=_known_total(query, total, by_provider),
        )
        rows = await queries.integrations_of_projects(
            session,
            tenant_id=tenant,
            project_ids=[project_id for project_id, _, _ in page],
            account_keys=credentials.ACCOUNT_FIELDS,  # what credentials.account_name shows
            channel_keys=installations.CHANNEL_FIELDS,
        )
    by_status = {status: sum(c[status] for c in by_provider.values()) for status in STATUSES}
    cells: dict[str, dict[str, Cell]] = {}
    for row in rows:
        cells.setdefault(row[0], {})[row[1]] = cell(row)
    none: dict[str, Cell] = {}
    projects = []
    for project_id, name, changed in page:
        pid = str(project_id)
        of_project = cells.get(pid, none)
        projects.append(
            ProjectRow(pid, name, changed, {key: of_project.get(key, NOT_CONNECTED) for key in PROVIDERS})
        )
    return Overview(
        total_projects=total,
        matching=matching,
        page=query.page,
        page_size=query.page_size,
        providers=[ProviderRef(spec.key, spec.name) for spec in PROVIDERS.values()],
        by_status=by_status,
        by_provider=by_provider,
        projects=projects,
        failing=failing,
    )
