"""A private PostgreSQL server for the tests: its own temp folder, port and socket, password login, gone after.

    with private_postgres() as url:   # postgresql://netlib:netlib-test@127.0.0.1:PORT/sweeps
        ...

Debian's binaries (/usr/lib/postgresql/*/bin, the newest version; else initdb on PATH) run as the `postgres`
OS user when this process is root (initdb refuses root), else as the current user. Host connections need a
password (scram-sha-256); the unix socket in the temp folder trusts its OS user, the superuser that creates
role `netlib` and its database `sweeps`. fsync is off: a test server never has to survive a power cut.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROLE, PASSWORD, DATABASE, SUPERUSER = "netlib", "netlib-test", "sweeps", "pgadmin"
MISSING = "PostgreSQL is not installed (no initdb found): `bash scripts/test.sh` installs it"
SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "shared_buffers": "'16MB'",
            "max_connections": "60", "listen_addresses": "'127.0.0.1'"}


class PostgresError(RuntimeError):
    """PostgreSQL is missing, or the private server did not come up (the message says which, with its log)."""


def find_bindir() -> Path:
    """The folder with initdb, pg_ctl and psql: the newest /usr/lib/postgresql/VERSION/bin, else initdb's on PATH."""
    def version(initdb: str) -> tuple[int, ...]:
        name = Path(initdb).parent.parent.name
        return tuple(int(p) for p in name.split(".") if p.isdigit())

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    raise PostgresError(MISSING)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One server's folder (data/, server.log and the socket), port and commands; `url` is the netlib login."""

    def __init__(self, bindir: Path, base: Path):
        self.bindir, self.base, self.port = bindir, base, free_port()
        self.data, self.log = base / "data", base / "server.log"
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # initdb and postgres refuse root: run them as the postgres OS user
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresError("running as root needs the `postgres` OS user (Debian's postgresql "
                                    "package makes it): `bash scripts/test.sh` installs it") from None
            os.chown(base, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.url = f"postgresql://{ROLE}:{PASSWORD}@127.0.0.1:{self.port}/{DATABASE}"

    def run(self, tool: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """`tool` (initdb, pg_ctl, psql) as the server's OS user, from its folder; PostgresError if it fails."""
        cmd = [*self.as_user, str(self.bindir / tool), *args]
        try:
            out = subprocess.run(cmd, cwd=self.base, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise PostgresError(f"{tool} took over {timeout:g} s{self.log_tail()}") from None
        if out.returncode != 0:
            raise PostgresError(f"{tool} failed ({out.returncode}): {(out.stderr or out.stdout).strip()[-1500:]}"
                                f"{self.log_tail()}")
        return out

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return "\n-- server log (tail):\n" + self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def init(self) -> None:
        pwfile = self.base / "superuser.pw"
        pwfile.write_text(secrets.token_hex(16) + "\n")  # initdb wants one when host logins need passwords
        if self.as_user:
            shutil.chown(pwfile, "postgres")
        self.run("initdb", "-D", str(self.data), "-U", SUPERUSER, f"--pwfile={pwfile}", "-E", "UTF8",
                 "--no-locale", "--auth-host=scram-sha-256", "--auth-local=trust", "--no-sync", "--no-instructions")
        pwfile.unlink()
        settings = {**SETTINGS, "port": str(self.port), "unix_socket_directories": f"'{self.base}'"}
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write("".join(f"{k} = {v}\n" for k, v in settings.items()))

    def start(self, timeout: float) -> None:
        """pg_ctl start, then wait until `netlib` can log in over TCP (after the role exists)."""
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", str(int(timeout)), "start",
                 timeout=timeout + 10)
        self.run("psql", "-h", str(self.base), "-p", str(self.port), "-U", SUPERUSER, "-d", "postgres",
                 "-v", "ON_ERROR_STOP=1", "-q",
                 "-c", f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'",
                 "-c", f"CREATE DATABASE {DATABASE} OWNER {ROLE}")
        self.wait_for_login(timeout)

    def wait_for_login(self, timeout: float) -> None:
        import psycopg

        deadline, error = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(self.url, connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as e:
                error = e
                time.sleep(0.2)
        raise PostgresError(f"PostgreSQL on 127.0.0.1:{self.port} did not accept `{ROLE}` within {timeout:g} s: "
                            f"{error}{self.log_tail()}")

    def stop(self) -> None:
        """pg_ctl stop -m fast, else -m immediate, else SIGKILL the postmaster; never raises."""
        if not (self.data / "postmaster.pid").exists():
            return
        for mode in ("fast", "immediate"):
            with contextlib.suppress(PostgresError):
                self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "15", "stop", timeout=25)
                return
        with contextlib.suppress(OSError, ValueError):
            os.kill(int((self.data / "postmaster.pid").read_text().split()[0]), 9)


@contextlib.contextmanager
def private_postgres(timeout: float = 60) -> Iterator[str]:
    """A fresh PostgreSQL server for the `with` block; yields the URL that logs `netlib` in to `sweeps`.
    PostgresError when PostgreSQL is missing or does not start; the server and its folder go afterwards,
    also when the block (or the start) fails."""
    bindir = find_bindir()
    base = Path(tempfile.mkdtemp(prefix="netlib-pg-"))
    server = None
    try:
        server = Server(bindir, base)
        server.init()
        server.start(timeout)
        yield server.url
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(base, ignore_errors=True)


def sqlalchemy_url(url: str) -> str:
    """The same database for SQLAlchemy (Optuna's RDBStorage) through psycopg 3: psycopg2 is not installed."""
    return url.replace("postgresql://", "postgresql+psycopg://", 1)
