"""The rules of the tamper-evident record, with nothing but Python's standard library, so that
an offline verifier can apply the very same rules to an evidence bundle.

An attempt's record is its rows in order: the frames it saw (in log order), then its checks.
Each row is canonical JSON; the chain folds them: ``link = sha256(previous link + row)``,
starting from ``GENESIS``; the last link is the attempt's chain head. Each row's own hash is
kept next to its name, so that a verifier can say *which* row changed, not only that one did.
A campaign's evidence digest is the chain of its verdict rows (per step: verdict, result text
and the chain head of the attempt the verdict was given on), after a row naming the report's
revision once a reopening raised it past 1, so that each revision's digest is its own (revision 1
has no such row: records sealed before revisions existed verify as they were).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

GENESIS = "0" * 64


def canonical(row: dict) -> bytes:
    """One row as the bytes that get hashed: sorted keys, no spaces, UTF-8."""
    return json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def frame_row(*, id: int, direction: str, message_type: str, unique_id: str, raw: str) -> dict:
    return {"kind": "frame", "id": id, "direction": direction, "message_type": message_type,
            "unique_id": unique_id, "raw": raw}  # fmt: skip


def check_row(*, key: str, outcome: str, detail: str, evidence) -> dict:
    return {"kind": "check", "key": key, "outcome": outcome, "detail": detail,
            "evidence": evidence}  # fmt: skip


def verdict_row(*, step: int, verdict: str, result_text: str, chain_head: str) -> dict:
    return {"kind": "verdict", "step": step, "verdict": verdict, "result_text": result_text,
            "chain_head": chain_head}  # fmt: skip


def revision_row(*, revision: int) -> dict:
    return {"kind": "revision", "revision": revision}


def campaign_rows(*, revision: int, verdicts: list[dict]) -> list[dict]:
    """The rows of a campaign's evidence digest: the revision's (past 1), then the verdicts."""
    return ([revision_row(revision=revision)] if revision > 1 else []) + verdicts


def row_name(row: dict) -> str:
    """How a report of changes names a row."""
    if row["kind"] == "revision":
        return "report revision"
    if row["kind"] == "frame":
        return f"frame {row['id']}"
    if row["kind"] == "check":
        return f"check {row['key']}"
    return f"step {row['step']} verdict"


def row_hash(row: dict) -> str:
    return hashlib.sha256(canonical(row)).hexdigest()


def link(previous: str, row: dict) -> str:
    return hashlib.sha256(previous.encode("ascii") + canonical(row)).hexdigest()


def fold(rows: Iterable[dict]) -> tuple[str, list[list[str]]]:
    """The chain head over `rows`, and each row's [name, hash] in order."""
    head, index = GENESIS, []
    for row in rows:
        head = link(head, row)
        index.append([row_name(row), row_hash(row)])
    return head, index


def changes(recorded: list[list[str]], now: list[list[str]]) -> list[str]:
    """What differs between the rows recorded and the rows found now, each named: changed,
    missing (recorded, not found) or added (found, not recorded); a change of order too."""
    before, after = dict(map(tuple, recorded)), dict(map(tuple, now))
    found = []
    for name, digest in recorded:
        if name not in after:
            found.append(f"{name}: missing")
        elif after[name] != digest:
            found.append(f"{name}: changed")
    found += [f"{name}: added" for name, _ in now if name not in before]
    if not found and [n for n, _ in recorded] != [n for n, _ in now]:
        found.append("rows reordered")
    return found
