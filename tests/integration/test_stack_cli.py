"""`loglane stack` as a user runs it: status, a second up, and a failed up that cleans after itself."""

from __future__ import annotations

import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from loglane.cli import cli
from loglane.errors import ComponentError
from loglane.settings import Settings
from loglane.stack.manager import Stack
from tests.integration.test_quorum import free_port_block


def test_status_shows_six_healthy_components(stack: Stack) -> None:
    result = CliRunner().invoke(cli, ["stack", "status"])
    assert result.exit_code == 0, result.output
    for name in ("kafka", "registry", "connect", "opensearch", "postgres", "s3"):
        assert any(line.startswith(name) and " running " in line for line in result.output.splitlines()), name


def test_a_second_up_starts_nothing(stack: Stack, settings: Settings) -> None:
    again = Stack(settings)
    rows = again.up()
    assert again.started_now == []
    assert {r.state for r in rows} == {"running"}


@pytest.fixture
def open_home() -> Iterator[Path]:
    """A stack home the unprivileged stack user can enter (pytest's tmp_path is private to root)."""
    home = Path(tempfile.mkdtemp(prefix="loglane-it-"))
    home.chmod(0o755)
    yield home
    shutil.rmtree(home, ignore_errors=True)


def test_a_failed_up_names_the_component_and_stops_what_it_started(open_home: Path) -> None:
    # Arrange: the registry's port is taken by a process the stack did not start.
    base = free_port_block(41000)
    settings = Settings(
        home=open_home,
        postgres_port=base,
        registry_url=f"http://127.0.0.1:{base + 1}/apis/ccompat/v7",
    )
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", base + 1))
        squatter.listen()
        attempt = Stack(settings, only=["registry"])

        # Act
        with pytest.raises(ComponentError) as failure:
            attempt.up()

    # Assert: the error names the registry and its log; PostgreSQL, started for it, is stopped.
    assert failure.value.component == "registry"
    assert "already in use" in failure.value.why
    assert failure.value.log_path == str(attempt.service("registry").log_path)
    assert attempt.service("postgres").pid() is None
