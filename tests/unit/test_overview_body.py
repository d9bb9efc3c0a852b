"""The overview's response body, encoded without pydantic, is exactly what `OverviewOut` documents."""

from __future__ import annotations

import json

from tms_console.api.v1 import OverviewCell, OverviewOut, overview_body
from tms_console.domain.status import OverviewBucket
from tms_console.services import overview


def _result() -> overview.Overview:
    failing = overview.Cell(
        OverviewBucket.NEEDS_ATTENTION,
        account="Night Owls HQ",
        channel="#tickets",
        updated_at="2026-12-02 10:40 UTC",
        failing=True,
        failing_since="2026-12-02 10:42 UTC",
        state="needs_reconnect",
        detail='Reconnect: the "token" was revoked ✓',
    )
    return overview.Overview(
        total_projects=2,
        matching=1,
        page=1,
        page_size=50,
        providers=[overview.ProviderRef("discord", "Discord"), overview.ProviderRef("slack", "Slack")],
        by_status={"connected": 0, "needs_attention": 1, "not_connected": 3},
        by_provider={"discord": {"connected": 0, "needs_attention": 1, "not_connected": 1}},
        projects=[
            overview.ProjectRow(
                "p1",
                "Café Ops",
                "2026-12-02 10:40 UTC",
                {"discord": failing, "slack": overview.NOT_CONNECTED},
            )
        ],
        failing=1,
    )


def test_the_body_has_the_documented_fields_and_values() -> None:
    body = overview_body(_result())
    parsed = json.loads(body)
    model = OverviewOut.model_validate_json(body)  # pydantic ignores extra keys: compare them too
    assert set(parsed) == set(OverviewOut.model_fields)
    assert model.model_dump() == parsed
    (project,) = parsed["projects"]
    for cell in project["integrations"].values():
        assert set(cell) == set(OverviewCell.model_fields)
    assert project["integrations"]["discord"] == {
        "status": "needs_attention",
        "state": "needs_reconnect",
        "detail": 'Reconnect: the "token" was revoked ✓',
        "account": "Night Owls HQ",
        "channel": "#tickets",
        "updated_at": "2026-12-02 10:40 UTC",
        "failing": True,
        "failing_since": "2026-12-02 10:42 UTC",
    }
    assert project["integrations"]["slack"]["status"] == "not_connected"
    assert project["name"] == "Café Ops" and parsed["failing"] == 1
