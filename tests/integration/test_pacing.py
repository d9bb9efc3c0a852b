"""Health calls to one provider are paced in Redis across every worker: at HEALTH_RATE_PER_SECOND=3, nine
calls at once pass in at least three one-second windows (without the pace they would pass in one)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.utils.health import run_service
from tms_console.services import pacing
from tms_console.settings import clear_settings_cache


@pytest.fixture
def three_a_second(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("HEALTH_RATE_PER_SECOND", "3")
    clear_settings_cache()
    yield
    monkeypatch.undo()
    clear_settings_cache()


def test_nine_calls_at_three_a_second_take_three_windows(three_a_second: None) -> None:
    provider = f"paced-{uuid.uuid4().hex[:8]}"

    async def passes(name: str) -> int:
        await pacing.wait_turn(name)
        return int(time.time())

    async def race() -> list[int]:
        return list(await asyncio.gather(*(passes(provider) for _ in range(9))))

    windows = Counter(run_service(race))
    assert len(windows) >= 3, windows  # never more than three in one window
