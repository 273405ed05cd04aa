"""The one place that tells the channel layer a station connected or went away, for whoever
follows the lab's stations (the home page); it names the station only, watchers decide for
themselves whether their user may see it."""

from __future__ import annotations

import logging
from typing import Literal, TypedDict

from stations.bus import channel_layer

logger = logging.getLogger(__name__)

CONNECTIONS_GROUP = "lab-station-connections"


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
