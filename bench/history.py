"""The station page's frame history with 100,000 frames: server time of each kind of page.

    python -m bench.history [--frames 100000] [--repeat 20]

Fills two stations of the bench database with ``--frames`` frames each, interleaved as two busy
stations' frames are, then ``--newer`` frames of 20 other stations after them (a station tested
a while ago: its frames are not the newest in the table), and a third with 1,000 for comparison
(once; later runs reuse them). Then
times, in this process through Django's test client (the view, its queries and the template; no
network), the live page and the history pages a QA engineer asks for: the newest page, a page
near the oldest frame, and filtered pages (a rare action, errors only, one direction). Prints the
median and 95th percentile of each and its number of queries.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from bench import common

# One cycle of what a charging station sends, repeated: mostly Heartbeats and their answers,
# some status and meter values, a rare Authorize and an even rarer error.
_CYCLE = (
    [("in", "CALL", "Heartbeat", ""), ("out", "CALLRESULT", "Heartbeat", "")] * 35
    + [("in", "CALL", "StatusNotification", ""), ("out", "CALLRESULT", "StatusNotification", "")]
    * 5
    + [("in", "CALL", "MeterValues", ""), ("out", "CALLRESULT", "MeterValues", "")] * 8
    + [("in", "CALL", "Authorize", ""), ("out", "CALLRESULT", "Authorize", "")]
)  # 100 frames; every 200th frame is an error (below)

_FILL = """
INSERT INTO stations_frame (station_id, connection_id, timestamp, direction, message_type,
                            action, unique_id, raw, payload, error, has_error)
SELECT s.id, NULL, now() - make_interval(secs => %(count)s - n),
       c.direction, c.message_type, c.action, 'u' || n,
       '[2,"u' || n || '","' || c.action || '",{}]', '{}'::jsonb,
       CASE WHEN n %% 200 = 0 THEN 'FormationViolation: benchmark' ELSE '' END, n %% 200 = 0
FROM generate_series(1, %(count)s) AS n
CROSS JOIN unnest(%(stations)s::bigint[]) AS s(id)
JOIN (SELECT ordinality - 1 AS i, direction, message_type, action
      FROM unnest(%(directions)s::text[], %(types)s::text[], %(actions)s::text[])
      WITH ORDINALITY AS t(direction, message_type, action)) AS c
  ON c.i = n %% %(cycle)s
ORDER BY n, s.id
"""


def fill(stations: list, count: int, *, force: bool = False) -> bool:
    """Give each station ``count`` frames (all of them anew when one lacks some, or ``force``);
    whether anything was written."""
    from django.db import connection

    from stations.models import Frame

    missing = [s.pk for s in stations if force or Frame.objects.filter(station=s).count() < count]
    if not missing:
        return False
    Frame.objects.filter(station_id__in=missing).delete()
    with connection.cursor() as cursor:
        cursor.execute(
            _FILL,
            {
                "count": count,
                "stations": missing,
                "directions": [c[0] for c in _CYCLE],
                "types": [c[1] for c in _CYCLE],
                "actions": [c[2] for c in _CYCLE],
                "cycle": len(_CYCLE),
            },
        )
        cursor.execute("ANALYZE stations_frame")
    return True


def timed(client, url: str, params: dict, repeat: int) -> dict:
    from django.db import connection

    queries = []
    with connection.execute_wrapper(
        lambda execute, sql, *a: queries.append(sql) or execute(sql, *a)
    ):
        answer = client.get(url, params)
    assert answer.status_code == 200, (url, answer.status_code)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(url, params)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
        "queries": len(queries),
    }


def measure(client, station, repeat: int) -> dict:
    from django.urls import reverse

    from stations.models import Frame

    live = reverse("stations:live", args=[station.pk])
    history = reverse("stations:frame_history", args=[station.pk])
    oldest = Frame.objects.filter(station=station).order_by("id").values_list("id", flat=True)[:1]
    near_oldest = (
        Frame.objects.filter(station=station, id__gt=oldest[0]).order_by("id")[100:101].get()
    )
    return {
        "live page": timed(client, live, {}, repeat),
        "newest page": timed(client, history, {}, repeat),
        "page near the oldest frame": timed(client, history, {"before": near_oldest.pk}, repeat),
        "rare action (Authorize, 1 %)": timed(client, history, {"action": "Authorize"}, repeat),
        "errors only (0.5 %)": timed(client, history, {"errors": "1"}, repeat),
        "one direction": timed(client, history, {"direction": "out"}, repeat),
        "rare action, near the oldest": timed(
            client, history, {"action": "Authorize", "before": near_oldest.pk}, repeat
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--newer", type=int, default=50_000, help="frames per other station")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    common.setup_django()
    common.migrate()
    from django.conf import settings
    from django.test import Client

    from accounts.models import User

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # Pages render without collected static files (no manifest needed to name them).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    big = common.stations(2, "HIST")
    small = common.stations(1, "HIST-SMALL")
    filled = fill(big, args.frames)
    fill(common.stations(20, "HIST-BUSY"), args.newer, force=filled)
    fill(small, 1000)
    user, _ = User.objects.get_or_create(username="bench-qa", defaults={"role": "qa"})
    client = Client()
    client.force_login(user)
    from stations.models import Frame

    result = {
        "frames in the table": Frame.objects.count(),
        f"{args.frames:,} frames": measure(client, big[0], args.repeat),
        "1,000 frames": measure(client, small[0], args.repeat),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
