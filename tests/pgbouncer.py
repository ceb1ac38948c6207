"""A PgBouncer of the tests' own: find the binary, write a config, start it, stop it.

PgBouncer has no wheel, so it comes from the system (``apt-get install pgbouncer``;
Debian puts it in ``/usr/sbin``, which is often not on ``PATH``) or from
``SKILLDB_PGBOUNCER``, the path of a ``pgbouncer`` binary. Without one the PgBouncer
tests are skipped, unless ``SKILLDB_REQUIRE_PGBOUNCER=1`` (set by ``.ci/run``) makes a
missing binary a failure.

:func:`start_pgbouncer` runs it in the foreground as a child process, in transaction
pooling mode, listening on 127.0.0.1 only (no Unix socket), with every database name
forwarded to the test server (a ``*`` entry), so one PgBouncer serves every cloned test
database. Clients authenticate with SCRAM against an ``auth_file`` holding the plain
passwords, which PgBouncer also uses to log in to the server when it asks for one.

PgBouncer refuses to run as root. As root it is started with ``-u USER``: it reads
its config as root, then switches to USER. When the test server is reached over a
Unix socket, USER is the owner of the socket's directory: the embedded server (run
as root) lives in a data directory of mode 0700 owned by its own system user, with
the socket inside, so that user is the only one besides root that can reach it, and
no permission of the session's directories has to be loosened. Over TCP, USER is
``nobody``. The config, auth file and log stay in a root-only directory: PgBouncer
reads the first two before it switches user, and writes the log to the stderr it
inherited (a file opened by this process).
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import make_conninfo

__all__ = [
    "BINARY_ENV",
    "DEBIAN_PATH",
    "INSTALL_HINT",
    "REQUIRE_ENV",
    "PgBouncer",
    "PgBouncerError",
    "find_binary",
    "required",
    "start_pgbouncer",
    "version",
]

#: Environment variable naming a ``pgbouncer`` binary to use.
BINARY_ENV = "SKILLDB_PGBOUNCER"
#: Environment variable that turns a missing binary into a failure (CI sets it to 1).
REQUIRE_ENV = "SKILLDB_REQUIRE_PGBOUNCER"
#: Where Debian's ``pgbouncer`` package installs the binary.
DEBIAN_PATH = "/usr/sbin/pgbouncer"
INSTALL_HINT = (
    "PgBouncer not found (it has no wheel): install it (Debian/Ubuntu: "
    "`apt-get install pgbouncer`) or set SKILLDB_PGBOUNCER to the path of a pgbouncer binary"
)
#: First PgBouncer version that knows ``max_prepared_statements`` (older ones refuse the setting).
PREPARED_STATEMENTS_SINCE = (1, 21)


class PgBouncerError(RuntimeError):
    """PgBouncer could not be found as configured, or did not start."""


def find_binary() -> str | None:
    """The ``pgbouncer`` to run: ``$SKILLDB_PGBOUNCER``, else on ``PATH``, else Debian's; ``None`` if none.

    :raises PgBouncerError: ``SKILLDB_PGBOUNCER`` is set but names no executable file.
    """
    configured = os.environ.get(BINARY_ENV)
    if configured:
        if not (os.path.isfile(configured) and os.access(configured, os.X_OK)):
            raise PgBouncerError(f"{BINARY_ENV}={configured!r} is not an executable file")
        return configured
    found = shutil.which("pgbouncer")
    if found:
        return found
    if os.path.isfile(DEBIAN_PATH) and os.access(DEBIAN_PATH, os.X_OK):
        return DEBIAN_PATH
    return None


def required() -> bool:
    """Whether a missing PgBouncer must fail the tests rather than skip them (``SKILLDB_REQUIRE_PGBOUNCER``)."""
    return os.environ.get(REQUIRE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def version(binary: str) -> tuple[int, ...]:
    """The version of ``binary`` from ``pgbouncer --version`` (``PgBouncer 1.18.0`` -> ``(1, 18, 0)``)."""
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10, check=True).stdout
    m = re.search(r"PgBouncer (\d+(?:\.\d+)+)", out)
    if m is None:
        raise PgBouncerError(f"{binary} --version said {out!r}, not a PgBouncer version")
    return tuple(int(part) for part in m.group(1).split("."))


@dataclass
class PgBouncer:
    """A running PgBouncer: where it listens, and its process and log."""

    host: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    pool_size: int

    def conninfo(self, dbname: str, user: str, password: str) -> str:
        """libpq string for ``dbname`` through this PgBouncer (``dbname="pgbouncer"``: its admin console)."""
        return make_conninfo(host=self.host, port=self.port, dbname=dbname, user=user, password=password)

    def log_tail(self, lines: int = 20) -> str:
        """The end of PgBouncer's log, for error messages."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError as exc:
            return f"(no log: {exc})"

    def stop(self, timeout: float = 10) -> None:
        """Stop PgBouncer (SIGTERM, then SIGKILL after ``timeout`` seconds)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _quote_ini(value: str) -> str:
    """``value`` as a quoted connstring value of PgBouncer's ``[databases]`` section."""
    if any(c in value for c in "\n\r"):
        raise PgBouncerError(f"cannot put {value!r} in a PgBouncer config")
    return "'" + value.replace("'", "''") + "'"


def _quote_auth(value: str) -> str:
    """``value`` as a double-quoted field of a PgBouncer ``auth_file``."""
    return '"' + value.replace('"', '""') + '"'


def _run_as(server_host: str) -> str | None:
    """The user to pass to ``-u`` (``None``: not root, run as ourselves); see the module docstring."""
    if os.geteuid() != 0:
        return None
    if server_host.startswith("/"):
        owner = os.stat(server_host).st_uid
        if owner != 0:
            return pwd.getpwuid(owner).pw_name
    try:
        return pwd.getpwnam("nobody").pw_name
    except KeyError as exc:
        raise PgBouncerError("as root, PgBouncer must run as another user, and there is no `nobody`") from exc


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(
    directory: Path,
    *,
    binary_version: tuple[int, ...],
    server_host: str,
    server_port: int,
    users: Mapping[str, str],
    stats_user: str,
    port: int,
    pool_size: int,
) -> Path:
    """Write ``pgbouncer.ini`` and its ``users.txt`` into ``directory``; return the ini's path.

    Transaction pooling, at most ``pool_size`` server connections per database (and
    user), every database forwarded to the server, ``stats_user`` allowed ``SHOW``
    commands on the admin console. On PgBouncer 1.21 and later,
    ``max_prepared_statements = 0`` keeps protocol-level prepared statements
    unsupported, as before 1.21, so the tests see the same PgBouncer on any version.
    """
    auth_file = directory / "users.txt"
    auth_file.write_text("".join(f"{_quote_auth(u)} {_quote_auth(p)}\n" for u, p in users.items()))
    auth_file.chmod(0o600)
    settings = {
        "listen_addr": "127.0.0.1",
        "listen_port": str(port),
        "unix_socket_dir": "",
        "auth_type": "scram-sha-256",
        "auth_file": str(auth_file),
        "pool_mode": "transaction",
        "default_pool_size": str(pool_size),
        "max_db_connections": str(pool_size),
        "min_pool_size": "0",
        "reserve_pool_size": "0",
        "max_client_conn": "200",
        "stats_users": stats_user,
        "log_connections": "0",
        "log_disconnections": "0",
    }
    if binary_version >= PREPARED_STATEMENTS_SINCE:
        settings["max_prepared_statements"] = "0"
    target = f"host={_quote_ini(server_host)} port={server_port}"
    lines = ["[databases]", f"* = {target}", "", "[pgbouncer]", *(f"{k} = {v}" for k, v in settings.items())]
    ini = directory / "pgbouncer.ini"
    ini.write_text("\n".join(lines) + "\n")
    ini.chmod(0o600)
    return ini


def start_pgbouncer(
    binary: str,
    directory: Path,
    *,
    server_host: str,
    server_port: int,
    users: Mapping[str, str],
    stats_user: str,
    pool_size: int = 2,
    timeout: float = 15,
    attempts: int = 5,
) -> PgBouncer:
    """Start PgBouncer in front of the server at ``server_host:server_port``; return once it listens.

    :param binary: the ``pgbouncer`` executable (see :func:`find_binary`).
    :param directory: an empty directory for its config, auth file and log.
    :param server_host: host name, address, or Unix socket directory of the server.
    :param users: login -> password, for clients and for PgBouncer's own server logins.
    :param stats_user: a login of ``users`` allowed ``SHOW`` on the admin console.
    :param pool_size: server connections per database and user.
    :param timeout: seconds to wait for each start.
    :param attempts: starts to try: the port is picked free, then bound by PgBouncer,
        and another process may take it in between.
    :raises PgBouncerError: PgBouncer exited or did not listen in time.
    """
    binary_version = version(binary)
    command = [binary]
    user = _run_as(server_host)
    if user is not None:
        command += ["-u", user]
    failure = ""
    for attempt in range(attempts):
        port = _free_port()
        ini = write_config(
            directory,
            binary_version=binary_version,
            server_host=server_host,
            server_port=server_port,
            users=users,
            stats_user=stats_user,
            port=port,
            pool_size=pool_size,
        )
        log = directory / f"pgbouncer-{attempt}.log"
        with log.open("wb") as out:
            process = subprocess.Popen([*command, str(ini)], stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        bouncer = PgBouncer("127.0.0.1", port, process, log, pool_size)
        listening = f"listening on 127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None or listening in log.read_text(errors="replace"):
                break
            time.sleep(0.02)
        if process.poll() is None and listening in log.read_text(errors="replace"):
            return bouncer
        bouncer.stop()
        failure = bouncer.log_tail()
        if "Address already in use" not in failure:
            break
    raise PgBouncerError(f"{' '.join(command)} did not start (exit code {process.returncode}):\n{failure}")
