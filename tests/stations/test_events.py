"""Events sent from synchronous code reach the channel layer from any thread, including one
whose own event loop is running (a browser test's set-up beside Playwright's sync loop)."""

from __future__ import annotations

import asyncio

from channels.layers import get_channel_layer

from stations import events


def _heard(send_from_sync) -> dict:
    async def listen() -> dict:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(events.CATALOGUE_GROUP, channel)
        send_from_sync()  # synchronous code, on this thread, while this loop runs
        return await asyncio.wait_for(layer.receive(channel), 10)

    return asyncio.run(listen())


def test_a_sync_sender_called_where_an_event_loop_runs_still_sends(memory_layer):
    heard = _heard(lambda: events.catalogue_changed_sync([7], "added"))
    assert heard["type"] == "catalogue.changed"
    assert heard["manufacturer_ids"] == [7]


def test_a_sync_sender_in_a_plain_thread_sends_through_async_to_sync(memory_layer):
    async def listen() -> dict:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(events.CATALOGUE_GROUP, channel)
        await asyncio.to_thread(events.catalogue_changed_sync, [8], "moved")
        return await asyncio.wait_for(layer.receive(channel), 10)

    heard = asyncio.run(listen())
    assert heard["manufacturer_ids"] == [8]
