"""An S3-compatible object store: s3proxy with its filesystem backend, holding the archive bucket."""

from __future__ import annotations

from urllib.parse import urlsplit

import boto3
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from loglane.settings import Settings, port_of
from loglane.stack import maven
from loglane.stack.pins import pin
from loglane.stack.service import Health, Launch, Service


def s3_client(settings: Settings):  # noqa: ANN201 - boto3 clients have no public type
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=settings.s3_secret_access_key.get_secret_value(),
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
    )


class S3(Service):
    name = "s3"
    start_timeout = 60.0

    @property
    def address(self) -> str:
        return self.settings.s3_endpoint

    @property
    def ports(self) -> list[int]:
        return [port_of(self.settings.s3_endpoint)]

    def prepare(self) -> None:
        self.jar = maven.fetch(pin("S3PROXY_JAR"), self.layout.cache / "s3proxy", self.name, self.layout.maven_log)
        (self.dir / "data").mkdir(parents=True, exist_ok=True)
        host = urlsplit(self.settings.s3_endpoint).hostname
        # The credential lives in a 0600 file, never on a command line or in a log.
        conf = self.dir / "s3proxy.conf"
        conf.touch(mode=0o600)
        conf.write_text(
            "\n".join(
                [
                    f"s3proxy.endpoint=http://{host}:{port_of(self.settings.s3_endpoint)}",
                    "s3proxy.authorization=aws-v2-or-v4",
                    f"s3proxy.identity={self.settings.s3_access_key_id}",
                    f"s3proxy.credential={self.settings.s3_secret_access_key.get_secret_value()}",
                    "jclouds.provider=filesystem",
                    f"jclouds.filesystem.basedir={self.dir / 'data'}",
                    "",
                ]
            )
        )

    def launch(self) -> Launch:
        jar = maven.fetch(pin("S3PROXY_JAR"), self.layout.cache / "s3proxy", self.name, self.layout.maven_log)
        return Launch(
            [
                "java", "-Xms64m", "-Xmx256m", "-XX:+UseSerialGC",
                # Hides ~30 lines of logback set-up chatter per start.
                "-Dlogback.statusListenerClass=ch.qos.logback.core.status.NopStatusListener",
                "-jar", str(jar), "--properties", str(self.dir / "s3proxy.conf"),
            ]
        )

    def probe(self) -> Health:
        try:
            response = requests.get(f"{self.settings.s3_endpoint}/healthz", timeout=2)
        except requests.RequestException as exc:
            return Health(False, f"no answer: {exc.__class__.__name__}")
        return Health(response.ok, f"healthz HTTP {response.status_code}")

    def after_ready(self) -> None:
        client = s3_client(self.settings)
        try:
            client.head_bucket(Bucket=self.settings.s3_bucket)
        except ClientError:
            client.create_bucket(Bucket=self.settings.s3_bucket)
