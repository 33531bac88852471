"""Apicurio Registry 3.0 with its Confluent-compatible API (/apis/ccompat/v7), stored in PostgreSQL.

Kafka records carry the schema's content id, so the registry must keep its ids across restarts:
it stores schemas in the stack's PostgreSQL (database `registry`), not in memory.
"""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path
from urllib.parse import urlsplit

import requests

from loglane.settings import port_of
from loglane.stack import maven
from loglane.stack.pins import pin
from loglane.stack.service import Health, Launch, Service


class Registry(Service):
    name = "registry"
    depends_on = ("postgres",)
    start_timeout = 120.0

    @property
    def address(self) -> str:
        return self.settings.registry_url

    @property
    def ports(self) -> list[int]:
        return [port_of(self.settings.registry_url)]

    @property
    def home(self) -> Path:
        return self.layout.cache / f"apicurio-registry-{pin('APICURIO_VERSION')}"

    @property
    def runner(self) -> Path:
        return self.home / f"apicurio-registry-app-{pin('APICURIO_VERSION')}-runner.jar"

    def prepare(self) -> None:
        if not self.runner.exists():
            archive = maven.fetch(pin("APICURIO_APP"), self.layout.cache / "downloads", self.name, self.layout.maven_log)
            shutil.rmtree(self.home, ignore_errors=True)
            self.home.mkdir(parents=True)
            with tarfile.open(archive) as tar:
                tar.extractall(self.home, filter="data")
        self.dir.mkdir(parents=True, exist_ok=True)
        # The database password goes in a 0600 file Quarkus reads, not on the command line.
        env_file = self.dir / ".env"
        env_file.touch(mode=0o600)
        env_file.write_text(f"APICURIO_DATASOURCE_PASSWORD={self.settings.postgres_password.get_secret_value()}\n")

    def launch(self) -> Launch:
        url = urlsplit(self.settings.registry_url)
        return Launch(
            [
                "java", "-Xms128m", "-Xmx512m",
                f"-Dquarkus.http.host={url.hostname}",
                f"-Dquarkus.http.port={port_of(self.settings.registry_url)}",
                "-Dapicurio.storage.kind=sql",
                "-Dapicurio.storage.sql.kind=postgresql",
                f"-Dapicurio.datasource.url=jdbc:postgresql://{self.settings.postgres_host}:"
                f"{self.settings.postgres_port}/registry",
                f"-Dapicurio.datasource.username={self.settings.postgres_user}",
                # The default pool holds 20-100 connections; a dev registry needs a few.
                "-Dapicurio.datasource.jdbc.initial-size=2",
                "-Dapicurio.datasource.jdbc.min-size=2",
                "-Dapicurio.datasource.jdbc.max-size=10",
                # Same schema, other whitespace or key order: same id, not a new version.
                "-Dapicurio.ccompat.use-canonical-hash=true",
                "-jar", str(self.runner),
            ],
            cwd=self.dir,  # Quarkus reads ./.env
        )

    def probe(self) -> Health:
        base = self.settings.registry_url.rstrip("/")
        try:
            response = requests.get(f"{base}/subjects", timeout=3)
        except requests.RequestException as exc:
            return Health(False, f"no answer: {exc.__class__.__name__}")
        return Health(response.ok, f"ccompat API HTTP {response.status_code}")
