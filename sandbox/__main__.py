"""`python -m sandbox --port 3001 --console-url http://localhost:3000`: serve the stand-in providers.

Reads REDIS_URL and SANDBOX_CANARY from the environment (the launcher in devtools/ sets both).
"""

from __future__ import annotations

import argparse
import os

import uvicorn

from sandbox import app_from_env


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3001)
    parser.add_argument("--console-url", required=True, help="the console's PUBLIC_BASE_URL")
    args = parser.parse_args()
    os.environ["SANDBOX_CONSOLE_URL"] = args.console_url
    uvicorn.run(app_from_env(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
