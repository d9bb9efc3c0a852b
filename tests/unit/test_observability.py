"""Log lines, request ids, metric labels and the metrics token, without servers."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from tests.utils.live import production_env
from tms_console import logs
from tms_console.api.request_id import RequestId
from tms_console.security.metrics_token import MetricsAccess, metrics_access
from tms_console.services import metrics
from tms_console.settings import Settings, clear_settings_cache


def record(
    message: str, *args: object, name: str = "tms_console.install", **extra: object
) -> logging.LogRecord:
    made = logging.getLogger(name).makeRecord(
        name, logging.INFO, __file__, 1, message, args, None, extra=extra
    )
    return made


def test_a_json_line_has_the_fixed_fields_the_context_and_the_message_fields() -> None:
    line = record("oauth_callback reason=%s type=%s tenant=%s", "installed", "slack", "t-1", attempt=2)
    with logs.context(request_id="req-1"):
        parsed = json.loads(logs.JsonFormatter().format(line))
    assert parsed["time"].endswith("+00:00") and parsed["level"] == "INFO"
    assert parsed["logger"] == "tms_console.install"
    assert parsed["message"] == "oauth_callback reason=installed type=slack tenant=t-1"
    assert parsed["request_id"] == "req-1"
    assert (parsed["event"], parsed["reason"], parsed["type"], parsed["tenant"]) == (
        "oauth_callback",
        "installed",
        "slack",
        "t-1",
    )
    assert parsed["attempt"] == 2  # passed as extra


def test_a_json_line_outside_a_request_has_no_id_and_keeps_the_fixed_fields_first() -> None:
    parsed = json.loads(logs.JsonFormatter().format(record("worker_starting message=x level=y")))
    assert "request_id" not in parsed
    assert parsed["message"] == "worker_starting message=x level=y"  # a field never overwrites them
    assert parsed["level"] == "INFO"


def test_library_lines_are_not_parsed_as_fields() -> None:
    parsed = json.loads(logs.JsonFormatter().format(record("select a=1", name="sqlalchemy.engine")))
    assert "event" not in parsed and "a" not in parsed


def test_a_json_line_carries_the_traceback() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        line = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    parsed = json.loads(logs.JsonFormatter().format(line))
    assert "RuntimeError: boom" in parsed["exception"] and "\n" not in logs.JsonFormatter().format(line)


def test_text_lines_append_the_context_before_a_traceback() -> None:
    with logs.context(job_id="7", delivery_id="d-1"):
        text = logs.TextFormatter().format(record("delivery_attempt outcome=delivered"))
    assert text.endswith("delivery_attempt outcome=delivered job_id=7 delivery_id=d-1")
    assert logs.current("job_id") is None  # the block ended


@pytest.mark.parametrize("given", ["abc", "A.b_c-9", "x" * 64])
def test_a_sane_incoming_request_id_is_kept(given: str) -> None:
    assert logs.request_id(given) == given and logs.is_request_id(given)


@pytest.mark.parametrize("given", [None, "", "x" * 65, "a b", "<script>", "id\r\nSet-Cookie: x", "é"])
def test_any_other_request_id_is_replaced_by_a_fresh_one(given: str | None) -> None:
    made = logs.request_id(given)
    assert made != given and len(made) == 32 and int(made, 16) >= 0 and not logs.is_request_id(given)
    assert logs.request_id(given) != made  # fresh each time


async def failing_app(scope: object, receive: object, send: object) -> None:
    raise RuntimeError("boom")


async def test_an_unhandled_error_is_a_500_page_naming_the_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport = httpx.ASGITransport(app=RequestId(failing_app))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.get("/anything", headers={"X-Request-ID": "trace-me"})
    assert answer.status_code == 500
    assert answer.headers["x-request-id"] == "trace-me"
    assert "Reference: <code>trace-me</code>" in answer.text
    assert "boom" not in answer.text
    logged = [r for r in caplog.records if r.getMessage().startswith("unhandled_error")]
    assert logged and logged[0].exc_info is not None


def test_labels_come_from_fixed_vocabularies_only() -> None:
    assert metrics.provider("discord") == "discord" and metrics.provider("rest_hook") == "rest_hook"
    assert metrics.provider("0f1c6a2e-tenant") == "other" and metrics.provider("") == "other"
    assert metrics.code("invalid_state") == "invalid_state" and metrics.code("graph_131047") == "graph_131047"
    assert metrics.code("Bad Request: chat not found") == "other" and metrics.code("x" * 51) == "other"


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    value = "unit-metrics-token-0123456789"
    monkeypatch.setenv("METRICS_TOKEN", value)
    clear_settings_cache()
    yield value
    monkeypatch.undo()
    clear_settings_cache()


def test_metrics_access_needs_the_exact_bearer_token(token: str) -> None:
    assert metrics_access(f"Bearer {token}") is MetricsAccess.GRANTED
    assert metrics_access(f"bearer {token}") is MetricsAccess.GRANTED
    for wrong in (None, "", token, f"Basic {token}", f"Bearer {token}x", f"Bearer {token[:-1]}"):
        assert metrics_access(wrong) is MetricsAccess.DENIED, wrong


def test_metrics_are_off_without_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("METRICS_TOKEN", raising=False)
    clear_settings_cache()
    try:
        assert metrics_access("Bearer anything") is MetricsAccess.OFF
    finally:
        monkeypatch.undo()
        clear_settings_cache()


@pytest.mark.parametrize(
    ("env", "refusal"),
    [
        ({"METRICS_TOKEN": "short"}, "METRICS_TOKEN must be a real secret"),
        ({"METRICS_TOKEN": "changeme"}, "METRICS_TOKEN must be a real secret"),
        ({"WORKER_METRICS_PORT": "9108", "WORKER_METRICS_HOST": "0.0.0.0"}, "WORKER_METRICS_HOST other than"),
    ],
)
def test_production_refuses_weak_metrics_protection(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], refusal: str
) -> None:
    for name in set(os.environ) - set(production_env()) | {"METRICS_TOKEN"}:
        monkeypatch.delenv(name, raising=False)
    Settings(_env_file=None, worker_metrics_port=9108)  # type: ignore[call-arg]  # loopback: fine
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=refusal):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_several_processes_add_up_in_multiprocess_mode(tmp_path: Path) -> None:
    """PROMETHEUS_MULTIPROC_DIR: counters of every process (Granian workers) in any one's answer."""
    env = os.environ | {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    count = "from tms_console.services import metrics; metrics.install_ended('slack', 'installed')"
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], env=env, check=True, timeout=60)
    show = (
        "from prometheus_client import generate_latest; from tms_console.services import metrics; "
        "print(generate_latest(metrics._registry()).decode())"
    )
    shown = subprocess.run([sys.executable, "-c", show], env=env, check=True, timeout=60, capture_output=True)
    assert 'tms_installs_total{provider="slack",reason="installed"} 2.0' in shown.stdout.decode()
