"""The card's controls without I/O: the event-type choice, the test message and its words, WhatsApp's
recipient, and the dev-only simulated events."""

from __future__ import annotations

import uuid

import pytest

from tms_console.domain.errors import ServiceError
from tms_console.domain.events import EVENT_TYPES, TicketEvent, wants_event
from tms_console.domain.messages import Outcome, SendResult
from tms_console.domain.reasons import Reason
from tms_console.providers.hooks.whatsapp import recipient_target
from tms_console.providers.registry import HOOKS, PROVIDERS
from tms_console.security.identity import Identity
from tms_console.services import sample_message, simulate
from tms_console.services.sample_message import SendTestFailed
from tms_console.services.subscriptions import received_event_types, validate_event_types


def test_an_integration_receives_every_type_until_some_are_picked() -> None:
    assert received_event_types({}) == list(EVENT_TYPES)
    assert received_event_types({"events": []}) == list(EVENT_TYPES)
    assert received_event_types({"events": ["ticket.resolved", "ticket.created"]}) == [
        "ticket.created",
        "ticket.resolved",
    ]
    assert received_event_types({"events": ["ticket.closed"]}) == ["ticket.resolved"]  # a pre-issue-10 name


def test_a_choice_is_known_types_in_order_each_once() -> None:
    picked = validate_event_types(["ticket.resolved", "ticket.created", "ticket.resolved"])
    assert picked == ["ticket.created", "ticket.resolved"]
    meta = {"events": picked}
    assert wants_event(meta, "ticket.created") and not wants_event(meta, "ticket.commented")


@pytest.mark.parametrize(
    ("events", "words"),
    [
        ([], "pick at least one event type; to stop every message, uninstall"),
        (["ticket.created", "ticket.exploded"], "unknown type 'ticket.exploded'; allowed: ticket.created"),
        ("ticket.created", "must be a list of event types"),
        ([{"type": "ticket.created"}], "unknown type"),
        (["ticket.created"] * 51, "must be a list"),
        (None, "must be a list"),
    ],
)
def test_a_bad_choice_is_refused_with_the_allowed_types(events: object, words: str) -> None:
    with pytest.raises(ServiceError) as refused:
        validate_event_types(events)
    assert refused.value.reason is Reason.INVALID_INPUT and words in refused.value.detail


def test_the_test_event_is_marked_and_a_ticket_of_its_own() -> None:
    first, second = sample_message.marked_event(), sample_message.marked_event()
    assert first.type == "ticket.created" and first.id.startswith("test_")
    assert first.ticket.subject.startswith("[Test]") and "test message" in first.actor.name
    assert first.ticket.id != second.ticket.id and first.id != second.id


@pytest.mark.parametrize("provider", sorted(HOOKS))
def test_every_provider_that_carries_events_renders_the_test_message(provider: str) -> None:
    hooks = HOOKS[provider]
    assert hooks.renders_events, provider
    message = sample_message.render(hooks, {}, {})
    assert message.message_id.startswith("test_")
    assert "Sent from the TMS Integrations Console" in message.body().decode()  # [Test] is escaped in places


def test_a_broken_payload_template_is_a_clear_refusal() -> None:
    with pytest.raises(ServiceError) as refused:
        sample_message.render(HOOKS["webhook"], {}, {"template": "{{"})
    assert refused.value.reason is Reason.INVALID_INPUT and refused.value.detail.startswith(
        "Payload template"
    )


def test_a_delivered_test_says_so() -> None:
    words = sample_message.judge(SendResult(Outcome.DELIVERED, 200), "Slack")
    assert words == "Delivered: Slack accepted it (HTTP 200)."


@pytest.mark.parametrize(
    ("result", "reason", "words"),
    [
        (
            SendResult(Outcome.RETRY, 503, "server_error"),
            Reason.PROVIDER_UNAVAILABLE,
            "error on its side (HTTP 503",
        ),
        (SendResult(Outcome.RETRY, 429, "rate_limited", 30.0), Reason.RATE_LIMITED, "wait 30 seconds"),
        (
            SendResult(Outcome.RETRY, None, "timeout"),
            Reason.PROVIDER_UNAVAILABLE,
            "could not be reached (timeout)",
        ),
        (
            SendResult(Outcome.REJECTED, 400, "invalid_blocks"),
            Reason.TEST_FAILED,
            "refused the message (HTTP 400",
        ),
        (SendResult(Outcome.AUTH_FAILED, 200, "invalid_auth"), Reason.NEEDS_RECONNECT, "Reconnect it"),
        (
            SendResult(Outcome.AUTH_FAILED, None, "missing_channel"),
            Reason.NEEDS_TARGET,
            "no channel to post to",
        ),
        (SendResult(Outcome.GONE, 410, "gone"), Reason.ENDPOINT_GONE, "410 Gone"),
        (SendResult(Outcome.REJECTED, None, "destination_refused"), Reason.TEST_FAILED, "not allowed"),
    ],
)
def test_a_failed_test_says_what_happened_in_plain_words(
    result: SendResult, reason: Reason, words: str
) -> None:
    with pytest.raises(SendTestFailed) as failed:
        sample_message.judge(result, "Slack")
    assert failed.value.reason is reason and words in failed.value.detail
    assert failed.value.status_code == 502


@pytest.mark.parametrize(
    ("status", "needs_target", "reason"),
    [
        ("needs_reconnect", False, Reason.NEEDS_RECONNECT),
        ("disabled", False, Reason.ENDPOINT_GONE),
        ("active", True, Reason.NEEDS_TARGET),
    ],
)
def test_an_integration_not_ready_for_a_test_is_refused_before_sending(
    status: str, needs_target: bool, reason: Reason
) -> None:
    sample_message.check_ready("active", needs_target=False, provider="Slack")  # control: a ready one passes
    with pytest.raises(ServiceError) as refused:
        sample_message.check_ready(status, needs_target=needs_target, provider="Slack")
    assert refused.value.reason is reason and refused.value.detail.startswith(("Slack", "The Slack"))


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("+15551234567", "+15551234567"),
        ("+1 (555) 123-4567", "+15551234567"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_a_whatsapp_recipient_is_stored_in_e164(typed: str, stored: str) -> None:
    target = recipient_target(typed)
    assert (target.id, target.name, dict(target.extra)) == (stored, stored, {"recipient": stored})
    assert HOOKS["whatsapp"].entered_target(typed) == target


@pytest.mark.parametrize("typed", ["15551234567", "+0555123456", "+1555", "+1234567890123456", "call me", ""])
def test_a_whatsapp_recipient_without_country_code_or_digits_is_refused(typed: str) -> None:
    with pytest.raises(ServiceError) as refused:
        recipient_target(typed)
    assert refused.value.reason is Reason.INVALID_INPUT and "country code" in refused.value.detail


def test_whatsapp_asks_for_a_recipient_and_the_others_pick_from_a_list() -> None:
    assert PROVIDERS["whatsapp"].target_label == "Recipient"
    assert "recipient" in {f.name for f in PROVIDERS["whatsapp"].form_fields}
    assert [key for key, hooks in HOOKS.items() if hooks.enters_target] == ["whatsapp"]


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_a_simulated_event_is_a_valid_new_ticket_of_its_type(event_type: str) -> None:
    first, second = simulate.simulated_event(event_type), simulate.simulated_event(event_type)
    event = TicketEvent.from_dict(first.payload)
    assert event.type == first.type == event_type and first.event_id.startswith("sim_")
    assert event.ticket.subject.startswith("[Simulated] ") and first.ticket_id == event.ticket.id
    assert first.ticket_id != second.ticket_id and first.event_id != second.event_id


def test_a_simulated_event_of_an_unknown_type_is_refused() -> None:
    with pytest.raises(ServiceError) as refused:
        simulate.simulated_event("ticket.exploded")
    assert "ticket.created" in refused.value.detail


async def test_production_refuses_simulated_events_whoever_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    alice = Identity("alice", "Alice", uuid.uuid4(), "agent")
    assert simulate.available()  # control: the tests run as TMS_ENV=test
    monkeypatch.setattr(simulate, "get_settings", lambda: type("S", (), {"tms_env": "prod"})())
    assert not simulate.available()
    with pytest.raises(simulate.DevOnly) as refused:
        await simulate.simulate_event(alice, project_id=str(uuid.uuid4()), event_type="ticket.created")
    assert refused.value.status_code == 403 and refused.value.reason is Reason.DEV_ONLY
    with pytest.raises(simulate.DevOnly):
        await simulate.emit_event(project_id=str(uuid.uuid4()), event_type="ticket.created")


async def test_only_people_simulate_events() -> None:
    backend = Identity("tms", "TMS", uuid.uuid4(), "service")
    with pytest.raises(ServiceError) as refused:
        await simulate.simulate_event(backend, project_id=str(uuid.uuid4()), event_type="ticket.created")
    assert refused.value.reason is Reason.NOT_ALLOWED
