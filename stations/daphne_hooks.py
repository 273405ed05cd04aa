"""What daphne does not tell the application, told: why a websocket ended, and a text frame
that is not UTF-8.

Daphne hands the application only a close code (ASGI ``websocket.disconnect``): 1006 both for a
station that dropped its TCP connection and for daphne's own ping timeout (autobahn's auto-ping:
no pong in time, say during a network cut), and a plain 1000 both for a station's close and for
daphne's own ``--websocket_timeout``. Autobahn, underneath, knows which. With ``install()`` the
disconnect event gets ``reason`` (the ASGI field daphne leaves out: the peer's close reason, or
the ping timeout) and ``certlab_ended_by``: ``"ping_timeout"`` when the ping went unanswered,
``"server"`` when daphne started the closing handshake (stations.disconnects reads them).

Autobahn fails a connection whose text frame is not UTF-8 before anyone sees the frame (and
without its check daphne's ``decode("utf8")`` would raise): a frame the station sent would be
neither logged nor answered. With ``install()`` such a frame reaches the application as
``{"type": "websocket.receive", "bytes": …, "certlab_invalid_utf8": True}`` and the connection
lives on; the OCPP consumer logs it as invalid.
"""

from __future__ import annotations

import time

ENDED_BY = "certlab_ended_by"
PING_TIMEOUT = "ping_timeout"
SERVER = "server"
INVALID_UTF8 = "certlab_invalid_utf8"


def install() -> None:
    """Hook daphne's websocket protocol and factory (once per process)."""
    from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol

    if getattr(WebSocketProtocol, "certlab_hooked", False):
        return
    on_ping_timeout = WebSocketProtocol.onAutoPingTimeout
    on_close = WebSocketProtocol.onClose
    on_message = WebSocketProtocol.onMessage
    factory_init = WebSocketFactory.__init__

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

    def onMessage(self, payload, isBinary) -> None:
        try:
            on_message(self, payload, isBinary)
        except UnicodeDecodeError:  # daphne's decode, before it queued anything
            self.last_ping = time.time()
            self.application_queue.put_nowait(
                {"type": "websocket.receive", "bytes": payload, INVALID_UTF8: True}
            )

    def __init__(self, *args, **kwargs) -> None:
        factory_init(self, *args, **kwargs)
        self.utf8validateIncoming = False  # onMessage above checks it, once, and keeps the frame

    WebSocketProtocol.onAutoPingTimeout = onAutoPingTimeout
    WebSocketProtocol.onClose = onClose
    WebSocketProtocol.onMessage = onMessage
    WebSocketFactory.__init__ = __init__
    WebSocketProtocol.certlab_hooked = True
