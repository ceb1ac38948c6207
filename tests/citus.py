"""A Citus cluster of the tests' own: a coordinator and two workers on loopback.

Citus has no wheel: the extension comes from the system's PostgreSQL (the
``citus.so`` of ``pg_config --pkglibdir``; ``../shared``-style build scripts or a
distribution package install it). ``SKILLDB_CITUS_PG_CONFIG`` names the ``pg_config``
of the PostgreSQL to use; by default the newest ``/usr/lib/postgresql/*/bin/pg_config``
whose library directory holds ``citus.so``.

:func:`start_cluster` runs ``initdb`` for three nodes in a temporary directory (as the
``postgres`` OS user when run as root, since ``initdb`` refuses root), starts them with
``shared_preload_libraries = 'citus'``, listening on 127.0.0.1 only, on free ports,
with ``trust`` authentication for loopback (a throwaway cluster; the nodes reach each
other as the connecting user) and durability off. :meth:`Cluster.create_database`
creates a database of the same name on every node with the extension installed and
the workers registered; :meth:`Cluster.clone` copies one (a distributed database is
the set of same-named databases on every node, so each node copies its own part;
shard placements and metadata name the same nodes and shards, so the copy is a
consistent cluster database).

The cluster is configured as the README tells operators to: ``citus.propagate_set_commands
= 'local'`` (so the ``SET LOCAL`` tenant binding reaches the workers).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

__all__ = ["CITUS_ENV", "CitusError", "Cluster", "MaintenanceConnections", "find_pg_config", "start_cluster"]

#: Environment variable that turns on the Citus mode of the test suite.
CITUS_ENV = "SKILLDB_TEST_CITUS"
#: Environment variable naming the ``pg_config`` of the PostgreSQL that has Citus.
PG_CONFIG_ENV = "SKILLDB_CITUS_PG_CONFIG"
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "shared_preload_libraries": "'citus'",
    "max_connections": "300",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "citus.propagate_set_commands": "'local'",
    "citus.shard_count": "8",
    "max_prepared_transactions": "100",
}


class MaintenanceConnections:
    """One autocommit connection per (thread, conninfo), opened on first use and kept:
    the suite creates and drops databases around every test, from the main thread and
    from the thread that clones ahead. :meth:`close` closes them all (before the server stops)."""

    def __init__(self) -> None:
        self._conns: dict[tuple[int, str], psycopg.Connection[Any]] = {}
        self._lock = threading.Lock()

    def get(self, conninfo: str) -> psycopg.Connection[Any]:
        """This thread's connection to ``conninfo``."""
        key = (threading.get_ident(), conninfo)
        with self._lock:
            conn = self._conns.get(key)
            if conn is None or conn.closed:
                conn = self._conns[key] = psycopg.connect(conninfo, autocommit=True)
        return conn

    def close(self) -> None:
        """Close every connection opened so far."""
        with self._lock:
            for conn in self._conns.values():
                conn.close()
            self._conns.clear()


class CitusError(RuntimeError):
    """Citus is not installed where looked for, or a node did not start."""


def find_pg_config() -> str:
    """The ``pg_config`` of a PostgreSQL with Citus installed.

    :raises CitusError: none found (says how to install it).
    """
    configured = os.environ.get(PG_CONFIG_ENV)
    candidates = [configured] if configured else sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_config"), reverse=True)
    for pg_config in candidates:
        if not os.access(pg_config, os.X_OK):
            continue
        libdir = subprocess.run([pg_config, "--pkglibdir"], capture_output=True, text=True, check=True).stdout.strip()
        if os.path.exists(os.path.join(libdir, "citus.so")):
            return pg_config
    raise CitusError(
        f"{CITUS_ENV}=1 needs the Citus extension installed for a system PostgreSQL "
        f"(citus.so in `pg_config --pkglibdir`), or {PG_CONFIG_ENV} naming such a pg_config"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Node:
    """One PostgreSQL server of the cluster."""

    name: str
    port: int
    data_dir: Path

    def conninfo(self, dbname: str, user: str = "postgres", password: str | None = None) -> str:
        """libpq string for ``dbname`` on this node."""
        return make_conninfo(host="127.0.0.1", port=self.port, user=user, password=password, dbname=dbname)


@dataclass
class Cluster:
    """A running coordinator and its workers."""

    bindir: Path
    base: Path
    run_as: str | None
    coordinator: Node
    workers: list[Node] = field(default_factory=list)
    _conns: MaintenanceConnections = field(default_factory=MaintenanceConnections)

    def _maintenance(self, node: Node) -> psycopg.Connection[Any]:
        """This thread's autocommit connection to ``node``'s ``postgres`` database, opened once."""
        return self._conns.get(node.conninfo("postgres"))

    @property
    def nodes(self) -> list[Node]:
        """Workers first, then the coordinator (the order databases are created in)."""
        return [*self.workers, self.coordinator]

    def create_database(self, dbname: str) -> None:
        """Create ``dbname`` on every node, install Citus in it and register the workers."""
        for node in self.nodes:
            self._maintenance(node).execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
            with psycopg.connect(node.conninfo(dbname), autocommit=True) as conn:
                conn.execute("CREATE EXTENSION citus")
        with psycopg.connect(self.coordinator.conninfo(dbname), autocommit=True) as conn:
            conn.execute("SELECT citus_set_coordinator_host('127.0.0.1', %s)", (self.coordinator.port,))
            for worker in self.workers:
                conn.execute("SELECT citus_add_node('127.0.0.1', %s)", (worker.port,))

    def seal(self, dbname: str) -> None:
        """Make ``dbname`` a template: close its sessions and refuse new ones on every node.

        Citus keeps sessions open in each of its databases (its maintenance daemon, cached
        connections between nodes), and PostgreSQL copies no database that has any.
        """
        for node in self.nodes:
            conn = self._maintenance(node)
            conn.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(sql.Identifier(dbname)))
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (dbname,),
            )

    def clone(self, template: str, dbname: str) -> None:
        """Copy the cluster database ``template`` to ``dbname`` on every node."""
        for node in self.nodes:
            self._maintenance(node).execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                    sql.Identifier(dbname), sql.Identifier(template)
                )
            )

    def drop_database(self, dbname: str) -> None:
        """Drop ``dbname`` on every node (if it exists).

        Connections are refused first: Citus' maintenance daemon reconnects to a database
        it serves, which can make even ``DROP DATABASE ... WITH (FORCE)`` find it in use.
        """
        for node in reversed(self.nodes):
            conn, name = self._maintenance(node), sql.Identifier(dbname)
            for attempt in range(50):
                try:
                    if conn.execute("SELECT FROM pg_database WHERE datname = %s", (dbname,)).fetchone():
                        conn.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(name))
                    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
                    break
                except psycopg.errors.ObjectInUse:
                    if attempt == 49:
                        raise
                    time.sleep(0.1)

    def stop(self) -> None:
        """Stop every node and delete the cluster's directory."""
        self._conns.close()
        for node in self.nodes:
            pg_ctl = str(self.bindir / "pg_ctl")
            self._run(pg_ctl, "-D", str(node.data_dir), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.base, ignore_errors=True)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if self.run_as is not None:
            command = ["runuser", "-u", self.run_as, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check)


def start_cluster(workers: int = 2) -> Cluster:
    """Start a coordinator and ``workers`` workers of Citus on loopback, in a temporary directory.

    :raises CitusError: Citus is not installed, or a node failed to start (its log is in the message).
    """
    pg_config = find_pg_config()
    bindir = Path(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True).stdout.strip())
    run_as = "postgres" if os.geteuid() == 0 else None
    base = Path(tempfile.mkdtemp(prefix="skilldb-citus-"))
    if run_as is not None:
        pw = pwd.getpwnam(run_as)
        os.chown(base, pw.pw_uid, pw.pw_gid)
    names = ["coordinator", *(f"worker{i + 1}" for i in range(workers))]
    nodes = [Node(name, _free_port(), base / name) for name in names]
    cluster = Cluster(bindir, base, run_as, nodes[0], nodes[1:])
    try:
        for node in nodes:
            cluster._run(
                str(bindir / "initdb"), "-D", str(node.data_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                "--locale=C.UTF-8", "--no-sync",
            )  # fmt: skip
            with open(node.data_dir / "postgresql.conf", "a") as conf:
                for key, value in {**SETTINGS, "port": str(node.port), "unix_socket_directories": f"'{base}'"}.items():
                    conf.write(f"{key} = {value}\n")
        for node in nodes:
            started = cluster._run(
                str(bindir / "pg_ctl"), "-D", str(node.data_dir), "-l", str(base / f"{node.name}.log"), "-w", "start",
                check=False,
            )  # fmt: skip
            if started.returncode != 0:
                log = (base / f"{node.name}.log").read_text(errors="replace")[-2000:]
                raise CitusError(f"the Citus {node.name} did not start: {started.stderr.strip()}\n{log}")
    except BaseException:
        cluster.stop()
        raise
    return cluster
