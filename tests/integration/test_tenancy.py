"""Row-level security seen from the application: its login, one tenant per session, pooled connections.

The attacks on another tenant's rows, table by table (reads, writes, references,
upserts, no tenant bound), are generated from the catalog in test_breakin.py.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

import skilldb
from skilldb import errors


def test_the_application_login_is_unprivileged(app_conn: psycopg.Connection[Any]) -> None:
    row = app_conn.execute(
        "SELECT rolsuper, rolbypassrls, pg_has_role(current_user, 'skilldb_app', 'MEMBER') "
        "FROM pg_roles WHERE rolname = current_user"
    ).fetchone()
    assert row == (False, False, True)


def test_a_session_sees_only_its_own_tenant(app_conn: psycopg.Connection[Any], tenant_a: str, tenant_b: str) -> None:
    with skilldb.tenant(app_conn, tenant_a):
        rows = app_conn.execute("SELECT id FROM tenants").fetchall()
        assert rows == [(tenant_a,)]
        assert skilldb.get_tenant(app_conn) == skilldb.get_tenant(app_conn)
        tenant = skilldb.get_tenant(app_conn)
        assert tenant is not None and tenant.id == tenant_a and tenant.name == "Tenant A"


def test_pooled_connection_carries_no_tenant_into_the_next_checkout(db: Any) -> None:
    with ConnectionPool(db.app_url, min_size=1, max_size=1, open=True) as pool:
        with pool.connection() as conn:
            tenant_id = str(uuid.uuid4())
            with skilldb.tenant(conn, tenant_id):
                skilldb.create_tenant(conn, name="Pooled")
                skilldb.create_skill(conn, author_id=None, name="Pooled skill", slug="pooled")
                pid = conn.info.backend_pid
        with pool.connection() as conn:
            assert conn.info.backend_pid == pid  # the very same server session
            assert conn.execute("SELECT current_setting('app.current_tenant_id', true)").fetchone() == ("",)
            assert conn.execute("SELECT count(*) FROM skills").fetchone() == (0,)
            conn.rollback()
            for call in (
                lambda: skilldb.list_skills(conn),
                lambda: skilldb.get_tenant(conn),
                lambda: skilldb.create_skill(conn, author_id=None, name="Orphan", slug="orphan"),
            ):
                with pytest.raises(errors.TenantRequired):
                    call()
                conn.rollback()
