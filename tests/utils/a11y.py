"""axe-core (WCAG 2.1 A and AA rules) on a page as a real Chromium shows it, keyboard focus helpers,
and what a check found, grouped so a test fails once, naming every serious or critical violation."""

from __future__ import annotations

from dataclasses import dataclass, field

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Locator, Page, expect

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
LAYER_OPTIONS = AXE_OPTIONS | {"rules": {"scrollable-region-focusable": {"enabled": False}}}
_AXE = Axe()

# The element that has the keyboard focus, and whether a focus style shows on it (outline or ring).
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  const ring = style.boxShadow && style.boxShadow !== 'none';
  return {id: el.id, tag: el.tagName.toLowerCase(), visible: Boolean(outline || ring),
          inDialog: Boolean(el.closest('[role="dialog"], [role="alertdialog"]'))};
}"""


@dataclass(frozen=True)
class Violation:
    where: str
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        return f"[{self.impact}] {self.where}: {self.rule} ({self.help}) at {', '.join(self.targets)}"


@dataclass
class AxeReport:
    """Every check of a test; `assert_clean` fails on serious/critical and prints the rest."""

    checked: list[str] = field(default_factory=list)
    found: list[Violation] = field(default_factory=list)

    def check(self, page: Page, where: str, known: Locator, *, layer: str = "") -> None:
        """Run axe once `known` (an element only the real page has) is visible and nothing animates.

        `layer`: a selector of an open list of options (a select). Radix hides the page behind it from
        assistive technology with `aria-hidden` and keeps the focus in the list; axe flags the hidden
        page's controls (aria-hidden-focus) although no keyboard can reach them, so the list is checked
        alone (the page under it has its own check). A long list scrolls in a viewport that holds no
        tabbable element (scrollable-region-focusable), yet the arrow keys move the real focus from
        option to option and scroll it (test_keyboard.py picks an option that way).
        """
        expect(known).to_be_visible()
        settle(page)
        options = LAYER_OPTIONS if layer else AXE_OPTIONS
        response = _AXE.run(page, context=layer or None, options=options).response
        assert response["testEngine"]["name"] == "axe-core" and response["passes"] is not None
        self.checked.append(where)
        for rule in response["violations"]:
            targets = tuple(" ".join(map(str, node["target"])) for node in rule["nodes"])
            self.found.append(Violation(where, rule["id"], rule["impact"] or "", rule["help"], targets))

    def print(self) -> None:
        for violation in self.found:
            print(violation)
        print(f"axe checked {len(self.checked)} states: {', '.join(self.checked)}")

    def assert_clean(self) -> None:
        blocking = [str(v) for v in self.found if v.impact in BLOCKING]
        assert not blocking, "serious or critical accessibility violations:\n" + "\n".join(blocking)


def settle(page: Page) -> None:
    """Wait until no CSS animation or transition runs (a fading dialog has no final colours yet)."""
    page.wait_for_function(
        "() => document.getAnimations().every(a => a.playState !== 'running')", polling=100
    )


def focused(page: Page) -> dict[str, object]:
    """What has the keyboard focus now (fails when nothing does)."""
    found = page.evaluate(FOCUSED)
    assert found, "nothing has the keyboard focus"
    return dict(found)


def tab_to(page: Page, element_id: str, *, limit: int = 80, backwards: bool = False) -> None:
    """Press Tab (Shift+Tab) until the element with this id has the focus; each stop shows a focus style."""
    seen: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        now = page.evaluate(FOCUSED)  # one look: the page may replace the element between two
        if now is None:
            continue
        assert now["visible"], f"no visible focus style on {now}"
        if now["id"] == element_id:
            return
        seen.append(str(now["id"] or now["tag"]))
    raise AssertionError(f"#{element_id} was not reached with {limit} presses of Tab: {seen}")


# Where the focused element sits: its card (if any) and that card's (or its own) place on the page.
PLACE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const card = el.closest('[id^="card-"]');
  const box = (card || el).getBoundingClientRect();
  const top = Math.round(box.top + scrollY), left = Math.round(box.left + scrollX);
  return {id: el.id, card: card ? card.id : '', top: top, left: left};
}"""


def tab_stops(page: Page, limit: int = 200) -> list[dict[str, object]]:
    """Every stop of Tab from the top of the page to its end (where the focus leaves the page)."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    stops: list[dict[str, object]] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        place = page.evaluate(PLACE)
        if place is None:
            return stops
        stops.append(dict(place))
    raise AssertionError(f"Tab did not reach the end of the page in {limit} presses")
