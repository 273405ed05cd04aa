"""A station's frame log, paged by frame id (keyset: each page is one index range scan through
``Frame.objects.of_station``, however deep it goes), filtered like the live page's history."""

from __future__ import annotations

from urllib.parse import urlencode

from rest_framework.exceptions import ValidationError

from stations.models import Frame
from stations.models.frames import Direction, MessageType

DEFAULT_LIMIT = 100
MAX_LIMIT = 500


def _int(params, name: str, default: int | None = None) -> int | None:
    value = params.get(name)
    if value in (None, ""):
        return default
    if not str(value).isdigit():
        raise ValidationError({name: "A whole number, please."})
    return int(value)


def frame_page(request, station) -> tuple[list[Frame], dict]:
    """The frames a request asks for, and the cursors for the pages around them."""
    params = request.query_params
    limit = min(_int(params, "limit", DEFAULT_LIMIT) or DEFAULT_LIMIT, MAX_LIMIT)
    before, after = _int(params, "before"), _int(params, "after")
    if before is not None and after is not None:
        raise ValidationError({"before": "Give either before or after, not both."})
    frames = Frame.objects.of_station(station.pk)
    if action := params.get("action"):
        frames = frames.filter(action=action)
    if direction := params.get("direction"):
        if direction not in Direction.values:
            raise ValidationError({"direction": f"One of {', '.join(Direction.values)}."})
        frames = frames.filter(direction=direction)
    if kind := params.get("message_type"):
        if kind not in MessageType.values:
            raise ValidationError({"message_type": f"One of {', '.join(MessageType.values)}."})
        frames = frames.filter(message_type=kind)
    if params.get("errors") in ("1", "true", "yes"):
        frames = frames.filter(has_error=True)
    if (connection := _int(params, "connection")) is not None:
        frames = frames.filter(connection_id=connection)
    if after is not None:
        # Oldest first from the cursor: a script tailing the log reads it in arrival order.
        page = list(frames.filter(id__gt=after).reverse()[:limit])
        last = page[-1].pk if page else after
        return page, {"next": _link(request, after=last), "previous": None}
    if before is not None:
        frames = frames.filter(id__lt=before)
    page = list(frames[:limit])
    more = len(page) == limit
    return page, {
        "next": _link(request, before=page[-1].pk) if page and more else None,
        "previous": _link(request, after=page[0].pk) if page else None,
    }


def _link(request, **cursor) -> str:
    params = {k: v for k, v in request.query_params.items() if k not in ("before", "after")}
    return request.build_absolute_uri(request.path + "?" + urlencode({**params, **cursor}))
