"""docs/security.md maps SECURITY.md to tests: every test it names must exist (the map cannot rot)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "security.md"


def test_every_test_named_in_the_security_doc_exists() -> None:
    text = DOC.read_text()
    current = None
    named = 0
    for match in re.finditer(r"`((?:[a-z_]+/)?[a-z_]+\.py)?(?:::([a-z0-9_]+))?", text):
        path, test = match.groups()
        if path:
            current = path if "/" in path else current
            assert (ROOT / "tests" / current).exists(), f"{current} does not exist"
        if test:
            assert current, f"{test} is named before any file"
            source = (ROOT / "tests" / current).read_text()
            assert re.search(rf"def {test}\b", source), f"{current}::{test} does not exist"
            named += 1
    assert named > 50
