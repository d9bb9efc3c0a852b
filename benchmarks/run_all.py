"""`make bench`: every figure in one run, sharing the services, the bench database and the console.

Each figure rewrites its own section of benchmarks/RESULTS.md (plus the machine/date header).
A figure that fails is reported and the others still run. `python -m benchmarks.run_all fig1 fig3`
runs only the named figures.
"""

from __future__ import annotations

import sys
import time
import traceback

from benchmarks import (
    common,
    fig1_callback,
    fig2_install_url,
    fig3_overview,
    fig4_integrations_page,
    fig5_memory,
    fig6_delivery,
    fig7_health,
)

FIGURES = {
    "fig1": fig1_callback.main,
    "fig2": fig2_install_url.main,
    "fig3": fig3_overview.main,
    "fig4": fig4_integrations_page.main,
    "fig5": fig5_memory.main,
    "fig6": fig6_delivery.main,
    "fig7": fig7_health.main,
}


def main(argv: list[str]) -> int:
    chosen = argv[1:] or list(FIGURES)
    started = time.monotonic()
    failed = []
    with common.bench() as ctx:
        for name in chosen:
            began = time.monotonic()
            try:
                FIGURES[name](ctx)
            except Exception:
                traceback.print_exc()
                failed.append(name)
            common.say(f"   ({name}: {time.monotonic() - began:.0f} s)")
    common.say(f"benchmarks done in {time.monotonic() - started:.0f} s; results in {common.RESULTS}")
    if failed:
        common.say(f"figures that failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
