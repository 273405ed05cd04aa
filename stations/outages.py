"""When CertLab itself lost a station's connection: its web server shut down under it (the
connection ended as a server shutdown), or the process holding it died (the record was never
closed, and a newer connection came, or the station reads offline). A step uses this to say
"not observed: CertLab's trouble" instead of blaming the station for what it missed meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from stations import registry
from stations.models import Connection, EndReason

SHUT_DOWN = "CertLab's web server holding the station's connection shut down"
DIED = "the CertLab web server holding the station's connection stopped without closing it"


@dataclass(frozen=True)
class Outage:
    at: datetime  # when CertLab lost the connection (for a dead holder: when it was opened)
    reason: str  # plain words, for the step's result


def lab_outage_since(*, charge_point_id: str, since: datetime) -> Outage | None:
    """The first connection of the station that CertLab lost at or after ``since``."""
    connections = list(
        Connection.objects.filter(station__charge_point_id=charge_point_id, refused=False)
        .filter(Q(closed__gte=since) | Q(closed__isnull=True))
        .order_by("opened")
    )
    for index, connection in enumerate(connections):
        if connection.end_reason == EndReason.SHUTDOWN:
            at = connection.closed
            return Outage(at, f"{SHUT_DOWN} at {at:%H:%M:%S} UTC")
        if connection.closed is None:
            newer = index + 1 < len(connections)
            if newer or not registry.online_ids([charge_point_id]):
                return Outage(max(connection.opened, since), DIED)
    return None
