"""compose/ runs the same components at the same pins as the local stack."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from loglane.settings import Settings
from loglane.stack.components import build_services
from loglane.stack.pins import PINS_FILE, pins
from loglane.stack.service import StackLayout

COMPOSE = Path(__file__).parents[2] / "compose"


def compose_file() -> dict:
    return yaml.safe_load((COMPOSE / "docker-compose.yml").read_text())


def test_compose_reads_the_one_pin_file() -> None:
    assert (COMPOSE / ".env").resolve() == PINS_FILE.resolve()


def test_compose_has_the_same_components_as_the_local_stack(tmp_path: Path) -> None:
    local = {s.name for s in build_services(StackLayout(Settings(home=tmp_path))) if not s.optional}
    assert set(compose_file()["services"]) == local


def test_every_version_in_compose_is_a_pin() -> None:
    text = (COMPOSE / "docker-compose.yml").read_text()
    referenced = set(re.findall(r"\$\{([A-Z0-9_]+)\}", text))
    assert referenced, "compose should take its versions from the pin file"
    assert referenced <= set(pins()), referenced - set(pins())
    for service in compose_file()["services"].values():
        image = service.get("image")
        if image:
            assert "${" in image, f"{image} is not pinned through artifacts.env"


def test_compose_publishes_ports_on_loopback_only() -> None:
    for name, service in compose_file()["services"].items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0,
    reason="the docker compose plugin is not installed; the YAML checks above stand in",
)
def test_docker_compose_config_accepts_it() -> None:
    subprocess.run(["docker", "compose", "config", "--quiet"], cwd=COMPOSE, check=True)
