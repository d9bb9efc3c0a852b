"""The procrastinate app the worker runs. Its connector is set by `tms_console.worker` from the settings.

Jobs are deferred elsewhere, inside the intake's own transaction (`persistence.job_queue`), so importing
this app opens nothing.
"""

from __future__ import annotations

import procrastinate

from tms_console.persistence.db import async_url

app = procrastinate.App(connector=procrastinate.PsycopgConnector(), import_paths=["tms_console.jobs.tasks"])


def connector_for(database_url: str) -> procrastinate.PsycopgConnector:
    """A connector on the console's database (psycopg wants the plain `postgresql://` form)."""
    plain = "postgresql://" + async_url(database_url).removeprefix("postgresql+psycopg://")
    return procrastinate.PsycopgConnector(conninfo=plain, kwargs={"connect_timeout": 5})
