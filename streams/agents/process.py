"""raw -> processed | deadletter: every raw record becomes exactly one output record."""

from __future__ import annotations

from typing import cast

import faust
from faust.types import EventT

from loglane import catalog
from loglane.settings import get_settings
from streams import pipeline
from streams.app import app
from streams.stages.types import RawRecord

raw_topic = app.topic(catalog.topic("raw").name)
outputs = {role: app.topic(catalog.topic(role).name) for role in ("processed", "deadletter")}


def record_of(event: EventT[bytes]) -> RawRecord:
    message = event.message
    return RawRecord(message.topic, message.partition, message.offset, event.key, event.value)


@app.agent(raw_topic, concurrency=1)
async def process(stream: faust.StreamT[bytes]) -> None:
    stages = pipeline.from_settings(get_settings())
    # Ack by hand, after the output is sent: a record interrupted mid-way (shutdown during a
    # registry outage) is not committed, so it is read again. The producer is flushed before commit.
    manual = cast(faust.Stream[bytes], stream).noack()  # StreamT, the interface, lacks noack
    async for event in manual.events():
        output = await pipeline.handle_until_done(stages, record_of(event))
        await outputs[output.role].send(key=output.key, value=output.value)
        await manual.ack(event)
