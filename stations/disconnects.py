"""Why a station's websocket ended.

Daphne hands the application only a close code (ASGI ``websocket.disconnect``): 1006 both for a
station that dropped its TCP connection and for daphne's own ping timeout (autobahn's auto-ping:
no pong in time, say during a network cut), and a plain 1000 both for a station's close and for
daphne's own ``--websocket_timeout``. Autobahn, underneath, knows which. ``install()`` makes
daphne say it: the disconnect event gets ``reason`` (the ASGI field daphne leaves out: the peer's
close reason, or autobahn's note on an unclean close) and ``certlab_ended_by``: ``"ping_timeout"``
when the ping went unanswered, ``"server"`` when daphne started the closing handshake.

``ending()`` turns what the consumer heard, and what CertLab itself decided, into the
connection's ``EndReason`` and the sentence on its record.
"""

from __future__ import annotations

import logging
from typing import Any

from stations.models import EndReason

logger = logging.getLogger(__name__)

ENDED_BY = "certlab_ended_by"
PING_TIMEOUT = "ping_timeout"
SERVER = "server"
NO_HANDSHAKE = 1006  # RFC 6455: the connection closed without a close frame


def install() -> None:
    """Hook daphne's websocket protocol (once per process; a no-op without daphne)."""
    try:
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:  # pragma: no cover - daphne is a dependency
        return
    if getattr(WebSocketProtocol, "certlab_hooked", False):
        return
    on_ping_timeout = WebSocketProtocol.onAutoPingTimeout
    on_close = WebSocketProtocol.onClose

    def onAutoPingTimeout(self) -> None:
        self.certlab_ping_timed_out = True
        on_ping_timeout(self)

    def onClose(self, wasClean, code, reason) -> None:
        queue = getattr(self, "application_queue", None)
        if queue is None:
            on_close(self, wasClean, code, reason)
            return
        if getattr(self, "certlab_ping_timed_out", False):
            ended_by = PING_TIMEOUT
            reason = f"no pong within {getattr(self, 'autoPingTimeout', '?')} s"
        else:
            ended_by = SERVER if getattr(self, "closedByMe", False) else ""
        put = queue.put_nowait

        def put_nowait(message: dict) -> None:
            if message.get("type") == "websocket.disconnect":
                message = {"reason": reason or "", **message, ENDED_BY: ended_by}
            put(message)

        # daphne's onClose puts the disconnect event on this queue: let it carry what we know.
        queue.put_nowait = put_nowait
        try:
            on_close(self, wasClean, code, reason)
        finally:
            del queue.put_nowait

    WebSocketProtocol.onAutoPingTimeout = onAutoPingTimeout
    WebSocketProtocol.onClose = onClose
    WebSocketProtocol.certlab_hooked = True


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
