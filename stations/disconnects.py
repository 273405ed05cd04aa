"""Why a station's websocket ended: what the consumer heard from daphne (with what
``stations.daphne_hooks`` adds to its disconnect event) and what CertLab itself decided, turned
into the connection's ``EndReason`` and the sentence on its record.
"""

from __future__ import annotations

from typing import Any

from stations.daphne_hooks import ENDED_BY, PING_TIMEOUT, SERVER
from stations.models import EndReason

NO_HANDSHAKE = 1006  # RFC 6455: the connection closed without a close frame


def ending(
    heard: dict[str, Any] | None, decided: tuple[EndReason, str, int] | None
) -> tuple[EndReason, str, int | None]:
    """(reason, sentence, close code) for a connection's record.

    ``decided``: (reason, sentence, code sent) when CertLab closed the socket itself; it wins:
    the station's echo of CertLab's close frame is not the station closing. ``heard``: daphne's
    disconnect event.
    """
    if decided is not None:
        return decided
    heard = heard or {}
    code = heard.get("code")
    said = str(heard.get("reason") or "")[:80]
    ended_by = heard.get(ENDED_BY, "")
    if ended_by == PING_TIMEOUT:
        return (
            EndReason.PING_TIMEOUT,
            f"ping timeout: the station did not answer daphne's ping ({said})",
            code,
        )
    if ended_by == SERVER:
        # Closed by daphne without CertLab asking: its --websocket_timeout (a session's maximum
        # length) or its connect timeout.
        return EndReason.CERTLAB, f"closed by CertLab's web server (daphne, code {code})", code
    if code == NO_HANDSHAKE:
        return (
            EndReason.LOST,
            "connection lost: dropped without a closing handshake (code 1006), by the station "
            "or the network",
            code,
        )
    detail = f"code {code}: {said}" if said else f"code {code}"
    return EndReason.STATION, f"closed by the station ({detail})", code
