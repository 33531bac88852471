from __future__ import annotations

import asyncio
from types import SimpleNamespace
from unittest.mock import AsyncMock

import pytest

from streams import pipeline
from streams.agents import process as agent
from tests.unit.streams.records import DEAD_LETTER, PROCESSED, build_pipeline, log_event, wire


def test_the_agent_sends_each_output_once_to_the_topic_of_its_role(monkeypatch: pytest.MonkeyPatch) -> None:
    stages, processed, dead = build_pipeline()
    monkeypatch.setattr(pipeline, "from_settings", lambda settings, **injected: stages)
    sent = {role: AsyncMock() for role in ("processed", "deadletter", "alert-candidates")}
    monkeypatch.setattr(agent, "output_topic", lambda role: SimpleNamespace(send=sent[role]))
    # In order by construction here; the guard's own decisions are tested in test_offsets.
    monkeypatch.setattr(agent.offsets, "admit", AsyncMock(return_value=True))

    async def run() -> None:
        async with agent.process.test_context() as tested:
            # wait=False: the agent yields no reply to wait for.
            await tested.put(wire(log_event(level="error")), key=b"k-1", wait=False)
            await tested.put(b"junk", key=b"k-2", wait=False)
            for _ in range(200):
                if sent["deadletter"].await_count:
                    break
                await asyncio.sleep(0.01)

    asyncio.run(run())
    sent["processed"].assert_awaited_once_with(key=b"checkout", value=wire(processed.values[0], 1, PROCESSED))
    sent["alert-candidates"].assert_awaited_once_with(key=b"checkout", value=wire(processed.values[0], 1, PROCESSED))
    sent["deadletter"].assert_awaited_once_with(key=b"k-2", value=wire(dead.values[0], 1, DEAD_LETTER))
    assert dead.values[0]["original"] == b"junk"
