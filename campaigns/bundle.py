"""The evidence bundle: a zip a vendor or an auditor can verify without CertLab (with
``verify_bundle.py`` and ``evidence.py``, which it carries: standard library only).

``report.pdf``; ``frames.jsonl`` and ``checks.jsonl`` (one chain row a line, with its step and
attempt, in chain order); ``verdicts.json`` (the verdict rows of the digest); ``manifest.json``
(campaign, digest, report revision, each attempt's chain head, each file's SHA-256). The
digest folds the revision's row (evidence.campaign_rows) before the verdicts."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

from campaigns import evidence, sealing
from campaigns.models import ACTIVE_STATUSES, Attempt, Campaign

HERE = Path(__file__).resolve().parent


def bundle_bytes(campaign: Campaign, *, pdf: bytes, revision: int) -> bytes:
    frames, checks, heads = io.StringIO(), io.StringIO(), []
    attempts = Attempt.objects.filter(plan_item__campaign=campaign).exclude(
        status__in=ACTIVE_STATUSES
    )
    for attempt in attempts.select_related("plan_item__function").order_by("plan_item", "number"):
        step = attempt.plan_item.function.number
        heads.append({"step": step, "attempt": attempt.number, "chain_head": attempt.evidence_head})
        for row in sealing.attempt_rows(attempt, last_frame=attempt.evidence_last_frame):
            out = frames if row["kind"] == "frame" else checks
            out.write(json.dumps({"step": step, "attempt": attempt.number, "row": row}) + "\n")
    files = {
        "report.pdf": pdf,
        "frames.jsonl": frames.getvalue().encode(),
        "checks.jsonl": checks.getvalue().encode(),
        "verdicts.json": json.dumps(sealing.verdict_rows(campaign), indent=1).encode(),
        "evidence.py": (HERE / "evidence.py").read_bytes(),
        "verify_bundle.py": (HERE / "verify_bundle.py").read_bytes(),
    }
    manifest = {
        "campaign": campaign.pk,
        "evidence_digest": campaign.evidence_digest,
        "report_revision": revision,
        "genesis": evidence.GENESIS,
        "attempts": heads,
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr("manifest.json", json.dumps(manifest, indent=1))
    return buffer.getvalue()
