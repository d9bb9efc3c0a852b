"""Fuzz every operation of /openapi.json over real HTTP: no 500, no response that breaks its schema.

Requests carry a valid Acme admin token. Path parameters are drawn both from real demo ids (so cases
reach the handlers, not only the 404s) and from whatever Schemathesis invents. Schemathesis' pytest
plugin does not run on this pytest, so each operation's strategy is driven with Hypothesis directly.
"""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import positive_data_acceptance

from devtools.seed import demo_id
from tests.utils.events import service_token
from tests.utils.identities import project_id, token_for

REAL_IDS = {
    "tenant_id": [str(demo_id("Acme")), str(demo_id("Globex"))],
    "project_id": [str(project_id("Acme", "Customer Support")), str(project_id("Globex", "Helpdesk"))],
    "integration_type": ["discord", "slack", "msteams", "webhook"],
}


@pytest.fixture(scope="module")
def api_schema(live_url: str):  # type: ignore[no-untyped-def]
    return schemathesis.openapi.from_dict(httpx.get(f"{live_url}/openapi.json").json())


def with_real_ids(case):  # type: ignore[no-untyped-def]
    names = [name for name in (case.path_parameters or {}) if name in REAL_IDS]
    if not names:
        return st.just(case)

    def apply(values: dict[str, str]):  # type: ignore[no-untyped-def]
        case.path_parameters = {**case.path_parameters, **values}
        return case

    real = st.fixed_dictionaries({name: st.sampled_from(REAL_IDS[name]) for name in names}).map(apply)
    return st.one_of(st.just(case), real)


# Where a schema-valid request is still refused by design with a documented 400: the callback's
# `state` is an opaque one-time token, and connect/target/test inputs are judged by the provider
# (a random bot token or channel id is well-formed and still wrong); a REST hook's URL must pass the
# SSRF rules (a random string is a well-formed `target_url` and still refused, as are names that
# do not resolve).
JUDGED_BY_CONTENT = ("/callback", "/integrations/{integration_type}", "/target", "/test", "/hooks")


def excluded(operation):  # type: ignore[no-untyped-def]
    """ "Valid data should be accepted" does not apply where the content, not the shape, decides."""
    if operation.method.upper() != "GET" and operation.path.endswith(JUDGED_BY_CONTENT[1:]):
        return [positive_data_acceptance]
    if operation.path.endswith("/callback"):
        return [positive_data_acceptance]
    return []


def test_every_operation_conforms_to_its_schema(api_schema, live_url) -> None:
    admin = {"Authorization": f"Bearer {token_for('Acme', 'ada@acme.example')}"}
    # The event intake is for the TMS backend only: fuzzed with its service token so cases reach it.
    service = {"Authorization": f"Bearer {service_token('Acme')}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 6, [op.label for op in operations]
    for operation in operations:
        skip = excluded(operation)
        # (`.../integrations/{integration_type}/events` is a person's: which events an integration gets.)
        headers = service if operation.path.endswith("/projects/{project_id}/events") else admin

        @given(case=operation.as_strategy().flatmap(with_real_ids))
        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def run(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(
                base_url=live_url,
                headers=headers,  # noqa: B023
                allow_redirects=False,
                excluded_checks=skip,  # noqa: B023
            )

        try:
            run()
        except Exception as exc:
            raise AssertionError(f"{operation.label}: {exc}") from exc
