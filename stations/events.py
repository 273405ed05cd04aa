"""The one place that tells the channel layer a station connected or went away, or that the
catalogue grew or moved, for whoever follows the lab's stations (the home page); it names the
station or the manufacturers concerned only, watchers decide for themselves whether their user
may see them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Literal, ParamSpec, TypedDict

from asgiref.sync import async_to_sync

from stations.bus import channel_layer

logger = logging.getLogger(__name__)

P = ParamSpec("P")


def sync_sender(send: Callable[P, Awaitable[None]]) -> Callable[P, None]:
    """``send`` (an event's coroutine) for synchronous code, wherever that code runs: through
    ``async_to_sync`` in a thread without an event loop (a view, a worker, a command), and from
    a short-lived thread of its own where this thread's loop is running, which ``async_to_sync``
    refuses (a browser test sets up its data beside Playwright's sync loop). Either way it
    returns once the event is sent."""
    to_sync = async_to_sync(send)

    def sender(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return to_sync(*args, **kwargs)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="certlab-event") as pool:
            return pool.submit(to_sync, *args, **kwargs).result()

    return sender


CONNECTIONS_GROUP = "lab-station-connections"
CATALOGUE_GROUP = "lab-catalogue"


class ConnectionEvent(TypedDict):
    type: Literal["station.connection"]
    station_id: int
    online: bool


async def connection_changed(station_id: int, *, online: bool) -> None:
    event: ConnectionEvent = {"type": "station.connection", "station_id": station_id,
                              "online": online}  # fmt: skip
    try:
        await channel_layer().group_send(CONNECTIONS_GROUP, event)
    except Exception:  # a live view is a convenience; the connection record is in the database
        logger.warning("could not announce station %s connection change", station_id)


class CatalogueEvent(TypedDict):
    type: Literal["catalogue.changed"]
    manufacturer_ids: list[int]
    # "added": a manufacturer, model, firmware version or station is new; "moved": one now
    # belongs to another manufacturer (its stations and campaigns went with it).
    what: Literal["added", "moved"]


async def catalogue_changed(manufacturer_ids: list[int], what: str) -> None:
    """The catalogue changed for these manufacturers' vendors (and QA, who see them all)."""
    event: CatalogueEvent = {"type": "catalogue.changed", "manufacturer_ids": manufacturer_ids,
                             "what": what}  # fmt: skip
    try:
        await channel_layer().group_send(CATALOGUE_GROUP, event)
    except Exception:  # a live view is a convenience; the catalogue is in the database
        logger.warning("could not announce a catalogue change of %s", manufacturer_ids)


catalogue_changed_sync = sync_sender(catalogue_changed)
