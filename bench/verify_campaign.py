"""Seal and verify a full 16-step campaign whose attempts saw 10,000 logged frames: the cost of
sealing its attempts (what ending them adds) and of ``verify_campaign`` recomputing it all.

    python -m bench.verify_campaign [--frames 10000]
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from datetime import timedelta

from bench import common


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=10_000)
    args = parser.parse_args()
    common.setup_django()
    common.migrate()
    from bench.report_pdf import build
    from campaigns.models import Attempt
    from campaigns.sealing import attempt_seal, campaign_seal, campaign_verify
    from stations.models import Frame

    campaign_id = build(0)
    attempts = list(Attempt.objects.filter(plan_item__campaign_id=campaign_id).order_by("pk"))
    each = args.frames // len(attempts) + 1
    Frame.objects.bulk_create(
        Frame(station_id=a.station_id, timestamp=a.started + timedelta(milliseconds=10 * i + 1),
              direction="in", message_type="CALL", action="MeterValues", unique_id=f"{a.pk}-{i}",
              raw=json.dumps([2, f"{a.pk}-{i}", "MeterValues", {"connectorId": 1, "x": "v" * 400}]),
              payload={})
        for a in attempts for i in range(each)
    )  # fmt: skip
    wall = time.perf_counter()
    for attempt in attempts:
        attempt_seal(attempt)
    sealed = time.perf_counter() - wall
    campaign = attempts[0].plan_item.campaign
    campaign_seal(campaign)
    wall = time.perf_counter()
    changed = campaign_verify(campaign)
    verified = time.perf_counter() - wall
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(json.dumps({"frames": each * len(attempts), "seal_all_s": round(sealed, 2),
                      "verify_s": round(verified, 2), "changed": len(changed),
                      "peak_rss_mb": peak}))  # fmt: skip


if __name__ == "__main__":
    main()
