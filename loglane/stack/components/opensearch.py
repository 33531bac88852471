"""OpenSearch 2.x (the integ-test distribution from Maven Central: plain HTTP, no security plugin).

OpenSearch refuses to run as root, so as root it runs as the stack's system user. The unpacked
distribution stays read-only in the cache; config, data and logs live in the state directory.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import requests

from loglane.settings import port_of
from loglane.stack import maven
from loglane.stack.pins import pin
from loglane.stack.service import Health, Launch, Service

JAVA_HOME = os.environ.get("JAVA_HOME", "/usr/lib/jvm/java-17-openjdk-amd64")


class OpenSearch(Service):
    name = "opensearch"
    runs_as_runtime_user = True
    start_timeout = 180.0

    @property
    def address(self) -> str:
        return self.settings.opensearch_url

    @property
    def ports(self) -> list[int]:
        return [port_of(self.settings.opensearch_url), port_of(self.settings.opensearch_url) + 100]

    @property
    def home(self) -> Path:
        return self.layout.cache / f"opensearch-{pin('OPENSEARCH_VERSION')}"

    def prepare(self) -> None:
        if not (self.home / "bin" / "opensearch").exists():
            archive = maven.fetch(pin("OPENSEARCH_DIST"), self.layout.cache / "downloads", self.name, self.layout.maven_log)
            unpack = self.layout.cache / "opensearch-unpack"
            shutil.rmtree(unpack, ignore_errors=True)
            with zipfile.ZipFile(archive) as zipped:
                zipped.extractall(unpack)
            (unpack / f"opensearch-{pin('OPENSEARCH_VERSION')}").rename(self.home)
            shutil.rmtree(unpack)
            for script in (self.home / "bin").iterdir():
                script.chmod(0o755)
        config = self.dir / "config"
        if not config.exists():
            shutil.copytree(self.home / "config", config)
            # jvm.options puts gc.log, heap dumps and crash files relative to the read-only
            # distribution directory; point them into this component's own directory.
            options = config / "jvm.options"
            text = options.read_text().replace("logs/", f"{self.log_path.parent}/")
            options.write_text(text.replace("HeapDumpPath=data", f"HeapDumpPath={self.dir / 'data'}"))
        (self.dir / "data").mkdir(parents=True, exist_ok=True)
        (self.dir / "tmp").mkdir(exist_ok=True)

    def launch(self) -> Launch:
        http_port = port_of(self.settings.opensearch_url)
        return Launch(
            [
                str(self.home / "bin" / "opensearch"),
                "-Ediscovery.type=single-node",
                "-Enetwork.host=127.0.0.1",
                f"-Ehttp.port={http_port}",
                f"-Etransport.port={http_port + 100}",
                f"-Epath.data={self.dir / 'data'}",
                f"-Epath.logs={self.log_path.parent}",
                "-Ecluster.name=loglane",
                "-Enode.store.allow_mmap=false",  # no vm.max_map_count tuning needed on dev hosts
                # A dev node on a shared disk: do not go read-only when the disk is 90% full.
                "-Ecluster.routing.allocation.disk.threshold_enabled=false",
            ],
            env={
                "JAVA_HOME": JAVA_HOME,
                "OPENSEARCH_JAVA_HOME": JAVA_HOME,
                "OPENSEARCH_PATH_CONF": str(self.dir / "config"),
                "OPENSEARCH_JAVA_OPTS": "-Xms512m -Xmx512m",
                "OPENSEARCH_TMPDIR": str(self.dir / "tmp"),  # else /tmp/opensearch-* leaks
            },
        )

    def probe(self) -> Health:
        try:
            response = requests.get(
                f"{self.settings.opensearch_url}/_cluster/health", params={"timeout": "1s"}, timeout=3
            )
            health = response.json()
        except (requests.RequestException, ValueError) as exc:
            return Health(False, f"no answer: {exc.__class__.__name__}")
        if health.get("cluster_name") != "loglane":
            return Health(False, f"another OpenSearch answers here (cluster {health.get('cluster_name')!r})")
        status = health.get("status")
        return Health(status in ("green", "yellow"), f"cluster {status}")
