"""Models and migrations must not drift apart, and the seed's table must be exactly as documented."""

from __future__ import annotations

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlmodel import SQLModel

from tms_console.persistence import models  # noqa: F401
from tms_console.persistence.db import async_url
from tms_console.persistence.job_queue import include_name


def test_models_match_migrations(database_url: str) -> None:
    engine = create_engine(async_url(database_url))
    with engine.connect() as connection:
        # procrastinate's own tables come from its shipped schema, not from our models.
        context = MigrationContext.configure(
            connection, opts={"compare_server_default": True, "include_name": include_name}
        )
        diff = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    assert diff == []


def test_seed_table_is_exact(database_url: str) -> None:
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        indexes = dict(
            conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'project_integrations'"
            ).fetchall()
        )
        columns = conn.execute(
            "SELECT column_name, data_type, is_nullable, column_default "
            "FROM information_schema.columns WHERE table_name = 'project_integrations'"
        ).fetchall()
    assert set(indexes) == {
        "project_integrations_pkey",
        "project_integrations_tenant_id_project_id_integration_type_key",
        "idx_project_integrations_project",
        "idx_project_integrations_type",
        "idx_project_integrations_status",
        "idx_project_integrations_meta",
    }
    assert (
        "(tenant_id, project_id, integration_type)"
        in indexes["project_integrations_tenant_id_project_id_integration_type_key"]
    )
    assert "(tenant_id, project_id)" in indexes["idx_project_integrations_project"]
    assert "USING gin (meta)" in indexes["idx_project_integrations_meta"]
    by_name = {name: (kind, nullable, default) for name, kind, nullable, default in columns}
    assert by_name["id"][:2] == ("uuid", "NO")
    assert by_name["tenant_id"][:2] == ("uuid", "NO")
    assert by_name["project_id"][:2] == ("uuid", "NO")
    assert by_name["integration_type"][:2] == ("character varying", "NO")
    assert by_name["meta"] == ("jsonb", "NO", "'{}'::jsonb")
    assert by_name["status"] == ("character varying", "NO", "'active'::character varying")
    assert by_name["created_at"][:2] == ("timestamp with time zone", "NO")
    assert by_name["updated_at"][:2] == ("timestamp with time zone", "NO")
