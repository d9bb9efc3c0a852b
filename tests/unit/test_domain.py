"""The domain floor: one status vocabulary, the hook contract's defaults, and one outage mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from tms_console.domain.errors import NotFound, ProviderError, Unavailable
from tms_console.domain.hooks import NO_HOOKS, ProviderHooks
from tms_console.domain.inbound import InboundRefused
from tms_console.domain.reasons import Reason
from tms_console.domain.status import CardStatus, IntegrationStatus, OverviewBucket
from tms_console.oauth import oauth2
from tms_console.persistence.db import DatabaseUnavailable
from tms_console.services import unit_of_work as uow

S = IntegrationStatus


@pytest.mark.parametrize(
    ("stored", "readable", "needs_target", "expected"),
    [
        ("active", True, False, S.ACTIVE),
        ("active", True, True, S.NEEDS_SETUP),
        ("active", False, False, S.NEEDS_RECONNECT),  # our keyring cannot open the credentials
        ("needs_reconnect", True, False, S.NEEDS_RECONNECT),
        ("degraded", True, True, S.DEGRADED),  # a target matters only once it works again
        ("disabled", True, False, S.DISABLED),
        ("not_connected", True, False, S.NEEDS_RECONNECT),  # a row is never "not connected"
        ("something-else", True, False, S.NEEDS_RECONNECT),  # unknown words: ask for a reconnect
    ],
)
def test_status_of_a_stored_row(stored: str, readable: bool, needs_target: bool, expected: S) -> None:
    assert S.of_row(stored, readable=readable, needs_target=needs_target) is expected


def test_every_status_has_one_card_word_and_one_overview_bucket() -> None:
    assert S.ACTIVE.card is CardStatus.CONNECTED and S.ACTIVE.bucket is OverviewBucket.CONNECTED
    assert S.NOT_CONNECTED.bucket is OverviewBucket.NOT_CONNECTED
    for status in S:
        assert isinstance(status.card, CardStatus)
        if status not in (S.ACTIVE, S.NOT_CONNECTED):
            assert status.card == status.value and status.bucket is OverviewBucket.NEEDS_ATTENTION
    # The words API clients already rely on (the REST list and the overview).
    assert {c.value for c in CardStatus} - {s.value for s in S} == {
        "connected",
        "not_configured",
        "coming_soon",
    }
    assert [b.value for b in OverviewBucket] == ["connected", "needs_attention", "not_connected"]


async def test_a_provider_without_quirks_gets_the_contract_defaults() -> None:
    hooks = NO_HOOKS
    assert not (hooks.judges_token_response or hooks.revokes or hooks.enters_target or hooks.receives_inbound)
    assert hooks.ready_made == {} and hooks.setup_note() == "" and hooks.reveal({"a": "b"}) == {}
    assert hooks.on_inbound({}, {}) is None and not hooks.receives_events
    with pytest.raises(InboundRefused):
        hooks.read_inbound({}, b"{}", {}, 0.0)
    with pytest.raises(NotFound):
        hooks.preview("{}")
    with pytest.raises(NotFound):
        hooks.entered_target("+15551234567")


def test_token_responses_are_judged_by_the_provider_only_when_it_says_so() -> None:
    class Lenient(ProviderHooks):
        judges_token_response = True

        def check_token_response(
            self, status: int, body: dict[str, object], *, refreshing: bool = False
        ) -> dict[str, object]:
            return {"judged": True}

    assert oauth2.judge_token_response(Lenient(), 400, {"error": "x"}) == {"judged": True}
    with pytest.raises(ProviderError) as refused:
        oauth2.judge_token_response(NO_HOOKS, 400, {"error": "invalid_grant"})
    assert refused.value.reason is Reason.INVALID_GRANT


@asynccontextmanager
async def _database_down(*, autocommit: bool = False) -> AsyncIterator[None]:
    raise DatabaseUnavailable("OperationalError")
    yield


@pytest.mark.parametrize(("saving", "reason"), [(False, Reason.UNAVAILABLE), (True, Reason.NOT_SAVED)])
async def test_a_database_outage_maps_to_one_reason(
    monkeypatch: pytest.MonkeyPatch, saving: bool, reason: Reason
) -> None:
    monkeypatch.setattr(uow, "session_scope", _database_down)
    with pytest.raises(Unavailable) as down:
        async with uow.unit_of_work(saving=saving):
            pass
    assert down.value.reason is reason and down.value.status_code == 503
    assert uow.outage("redis").reason is Reason.UNAVAILABLE
