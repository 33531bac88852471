"""Process supervision, with a real (tiny) server process instead of a JVM."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from loglane.errors import ComponentError
from loglane.settings import Settings
from loglane.stack.components.kafka import new_cluster_id
from loglane.stack.service import Health, Launch, Service, StackLayout, port_open


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TinyServer(Service):
    name = "tiny"
    start_timeout = 15.0
    stop_timeout = 5.0

    def __init__(self, layout: StackLayout, port: int, argv: list[str] | None = None) -> None:
        super().__init__(layout)
        self.port = port
        self.argv = argv or [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def ports(self) -> list[int]:
        return [self.port]

    def launch(self) -> Launch:
        return Launch(self.argv)

    def probe(self) -> Health:
        return Health(port_open("127.0.0.1", self.port), "port check")


@pytest.fixture
def layout(tmp_path: Path) -> StackLayout:
    return StackLayout(Settings(home=tmp_path))


def test_should_start_wait_and_stop_its_own_process(layout: StackLayout) -> None:
    server = TinyServer(layout, free_port())
    server.start()
    try:
        assert server.wait_ready().ok
        assert server.pid() is not None
    finally:
        assert server.stop() is True
    assert server.pid() is None
    assert not port_open("127.0.0.1", server.port)
    assert server.stop() is False


def test_should_say_which_component_died_and_where_its_log_is(layout: StackLayout) -> None:
    dying = TinyServer(layout, free_port(), [sys.executable, "-c", "import sys; print('bad config'); sys.exit(3)"])
    dying.start()
    with pytest.raises(ComponentError) as failure:
        dying.wait_ready()
    assert failure.value.component == "tiny"
    assert "exited during start-up" in str(failure.value)
    assert "bad config" in str(failure.value)
    assert failure.value.log_path == str(dying.log_path)


def test_should_refuse_a_port_held_by_a_process_it_did_not_start(layout: StackLayout) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        server = TinyServer(layout, holder.getsockname()[1])
        with pytest.raises(ComponentError, match="already in use"):
            server.start()


def test_a_recycled_pid_is_not_mistaken_for_ours(layout: StackLayout) -> None:
    server = TinyServer(layout, free_port())
    server.dir.mkdir(parents=True)
    server.pid_path.write_text("1 12345\n")  # pid 1 exists, but did not start at that time
    assert server.pid() is None


def test_cluster_ids_never_look_like_an_option() -> None:
    ids = [new_cluster_id() for _ in range(5000)]  # 1 in 64 raw ids would start with '-'
    assert not any(i.startswith("-") for i in ids)
    assert all(len(i) == 22 for i in ids)
