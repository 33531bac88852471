"""Test session wiring: integration tests get the local stack, started once by the same code as
`loglane stack up`; the session stops only the components it started itself."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from loglane.settings import Settings, get_settings
from loglane.stack.manager import Stack
from tests.support import Project, copy_project


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return get_settings()


@pytest.fixture(scope="session")
def stack(settings: Settings) -> Iterator[Stack]:
    running = Stack(settings)
    running.up()
    yield running
    if running.started_now:
        running.down(only=running.started_now)


@pytest.fixture
def unique() -> str:
    """A suffix for topic, group, connector and index names, so tests never share state."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
def project(stack: Stack, settings: Settings, tmp_path: Path, unique: str) -> Iterator[Project]:
    created = Project(copy_project(settings.project_dir, tmp_path, unique), unique, settings)
    yield created
    created.clean_up()
