"""The audit trail's pure parts: CSV cells a spreadsheet cannot run, cursors, filters, plain words."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime

import pytest

from tms_console.domain.errors import ServiceError
from tms_console.persistence.audit_log import Position
from tms_console.services import audit_log
from tms_console.state.audit import short_agent


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Alice Agent", "Alice Agent"),
        ("", ""),
        ("a=b", "a=b"),
    ],
)
def test_cells_that_start_like_a_formula_get_an_apostrophe(cell: str, shown: str) -> None:
    assert audit_log.csv_safe(cell) == shown


def test_a_line_quotes_commas_quotes_and_newlines_and_reads_back() -> None:
    cells = ('say "hi", then', "two\nlines", "=1+1")
    line = audit_log._csv_line(cells)
    assert line.endswith("\r\n")
    assert next(csv.reader(io.StringIO(line))) == ['say "hi", then', "two\nlines", "'=1+1"]


def test_a_cursor_round_trips_and_a_forged_one_is_a_clear_400() -> None:
    position = Position(datetime(2026, 12, 2, 6, 0, 0, 123456, tzinfo=UTC), uuid.uuid4())
    assert audit_log.decode_cursor(audit_log.encode_cursor(position)) == position
    assert audit_log.decode_cursor("") is None
    for forged in ("not-base64!!", "Zm9v", audit_log.encode_cursor(position)[:-3] + "A"):
        with pytest.raises(ServiceError) as caught:
            audit_log.decode_cursor(forged)
        assert caught.value.detail.startswith("cursor:")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (audit_log.AuditQuery(project_id="not-a-uuid"), "project_id"),
        (audit_log.AuditQuery(integration_type="slack; drop"), "integration"),
        (audit_log.AuditQuery(action="exploded"), "action"),
        (audit_log.AuditQuery(actor="x" * 201), "actor"),
        (
            audit_log.AuditQuery(
                since=datetime(2026, 12, 2, tzinfo=UTC), until=datetime(2026, 12, 1, tzinfo=UTC)
            ),
            "since",
        ),
    ],
)
def test_a_bad_filter_names_its_field(query: audit_log.AuditQuery, field: str) -> None:
    with pytest.raises(ServiceError) as caught:
        audit_log._checked(query)
    assert caught.value.detail.startswith(field + ":")


def test_reason_codes_in_plain_words() -> None:
    assert audit_log.explain("installed", "Slack") == "Slack is connected."
    assert audit_log.explain("token_revoked", "Slack") == "The Slack token was revoked. Reconnect Slack."
    assert audit_log.explain("", "Slack") == ""
    assert audit_log.explain("weird<code>", "Slack") == "Reason code weirdcode."


def test_a_long_user_agent_is_shortened() -> None:
    agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120"
    assert short_agent(agent).endswith("…") and len(short_agent(agent)) == 40
    assert short_agent("curl/8.5") == "curl/8.5"
