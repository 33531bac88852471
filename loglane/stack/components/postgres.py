"""PostgreSQL from the Debian package, as its own cluster in the stack's state directory.

initdb and postgres refuse root, so as root they run as the stack's system user. The
`loglane` role (password from settings) owns two databases: loglane (processed events)
and registry (the schema registry's storage).
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import psycopg
from psycopg import sql

from loglane.errors import ComponentError
from loglane.stack.pins import pin
from loglane.stack.service import RUNTIME_USER, Health, Launch, Service, chown_to_runtime_user, running_as_root

DATABASES = ("loglane", "registry")


class Postgres(Service):
    name = "postgres"
    runs_as_runtime_user = True
    stop_signal = signal.SIGINT  # "fast" shutdown: roll back open transactions, exit cleanly
    start_timeout = 60.0

    @property
    def bindir(self) -> Path:
        return Path(f"/usr/lib/postgresql/{pin('POSTGRES_MAJOR')}/bin")

    @property
    def address(self) -> str:
        return f"{self.settings.postgres_host}:{self.settings.postgres_port}"

    @property
    def ports(self) -> list[int]:
        return [self.settings.postgres_port]

    @property
    def data(self) -> Path:
        return self.dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.dir / "run"

    def prepare(self) -> None:
        if not (self.bindir / "postgres").exists():
            raise ComponentError(
                self.name,
                f"the PostgreSQL {pin('POSTGRES_MAJOR')} server is not installed "
                f"(apt-get install postgresql-{pin('POSTGRES_MAJOR')}; `make bootstrap` does it)",
            )
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        chown_to_runtime_user(self.dir)
        if (self.data / "PG_VERSION").exists():
            return
        command = [
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
        ]
        with self.log_path.open("ab") as log:
            done = subprocess.run(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                user=RUNTIME_USER if running_as_root() else None,
                group=RUNTIME_USER if running_as_root() else None,
                extra_groups=[] if running_as_root() else None,
            )
        if done.returncode != 0:
            raise ComponentError(self.name, "initdb failed", str(self.log_path))

    def launch(self) -> Launch:
        return Launch(
            [
                str(self.bindir / "postgres"), "-D", str(self.data),
                "-c", f"listen_addresses={self.settings.postgres_host}",
                "-p", str(self.settings.postgres_port),
                "-c", f"unix_socket_directories={self.socket_dir}",
            ]
        )

    def _superuser(self) -> psycopg.Connection:
        return psycopg.connect(
            host=str(self.socket_dir), port=self.settings.postgres_port, user="postgres",
            dbname="postgres", autocommit=True, connect_timeout=2,
        )

    def probe(self) -> Health:
        try:
            with self._superuser() as conn:
                version = conn.execute("show server_version").fetchone()
        except psycopg.Error as exc:
            return Health(False, f"not accepting connections: {str(exc).strip()}")
        return Health(True, f"PostgreSQL {version[0] if version else '?'}")

    def after_ready(self) -> None:
        user = self.settings.postgres_user
        password = self.settings.postgres_password.get_secret_value()
        with self._superuser() as conn:
            exists = conn.execute("select 1 from pg_roles where rolname = %s", (user,)).fetchone()
            verb = "alter" if exists else "create"
            conn.execute(
                sql.SQL("{} role {} login password {}").format(
                    sql.SQL(verb), sql.Identifier(user), sql.Literal(password)
                )
            )
            for db in DATABASES:
                if not conn.execute("select 1 from pg_database where datname = %s", (db,)).fetchone():
                    conn.execute(
                        sql.SQL("create database {} owner {}").format(
                            sql.Identifier(db), sql.Identifier(user)
                        )
                    )
        # The JDBC sink stores a map (event attributes) as hstore, an extension only a superuser adds.
        with psycopg.connect(
            host=str(self.socket_dir), port=self.settings.postgres_port, user="postgres",
            dbname=self.settings.postgres_db, autocommit=True, connect_timeout=2,
        ) as conn:
            conn.execute("create extension if not exists hstore")
