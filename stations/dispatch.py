"""Consumer event dispatch without the database thread hop.

Channels' ``AsyncConsumer.dispatch`` runs ``close_old_connections()`` through ``sync_to_async``
before every event: a trip to the one thread that serves the async ORM, and a wait behind
whatever it is doing (say, 200 browsers' permission checks), for events that touch no database
at all (a station's frame, a bus call, a batch of frames for a browser). Each such trip is also
two GIL hand-overs that stall the event loop. CertLab's consumers reach the database only
through ``database_sync_to_async``, which closes old connections itself before and after each
call, so the per-event hop buys nothing here.
"""

from __future__ import annotations

from channels.consumer import get_handler_name


class DirectDispatchMixin:
    async def dispatch(self, message: dict) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
