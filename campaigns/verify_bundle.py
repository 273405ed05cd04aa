"""Verify a CertLab evidence bundle offline: ``python verify_bundle.py bundle.zip``.

Needs only Python's standard library and ``evidence.py`` (the chain's rules, inside the bundle
or next to this file). Exit code 0 and "verified" when every file matches the manifest, every
attempt's rows fold to its chain head and the verdicts fold to the evidence digest; 1 and what
differs otherwise."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
import zipfile
from pathlib import Path


def _rules(archive: zipfile.ZipFile):
    try:
        from campaigns import evidence  # inside CertLab

        return evidence
    except ImportError:
        pass
    beside = Path(__file__).resolve().parent / "evidence.py"
    source = beside.read_bytes() if beside.exists() else archive.read("evidence.py")
    spec = importlib.util.spec_from_loader("evidence", loader=None)
    module = importlib.util.module_from_spec(spec)
    exec(compile(source, "evidence.py", "exec"), module.__dict__)
    return module


def verify(path: str) -> list[str]:
    try:
        archive = zipfile.ZipFile(path)
        if bad := archive.testzip():
            return [f"{bad}: damaged in the archive"]
        manifest = json.loads(archive.read("manifest.json"))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        return [f"not a readable bundle: {error}"]
    evidence = _rules(archive)
    found = []
    for name, digest in manifest["files"].items():
        if hashlib.sha256(archive.read(name)).hexdigest() != digest:
            found.append(f"{name}: changed")
    rows: dict[tuple[int, int], list[dict]] = {}
    for name in ("frames.jsonl", "checks.jsonl"):
        for line in archive.read(name).decode().splitlines():
            item = json.loads(line)
            rows.setdefault((item["step"], item["attempt"]), []).append(item["row"])
    for attempt in manifest["attempts"]:
        key = (attempt["step"], attempt["attempt"])
        head, _ = evidence.fold(rows.get(key, []))
        if head != attempt["chain_head"]:
            found.append(f"step {key[0]} attempt {key[1]}: its rows do not fold to its chain head")
    verdicts = json.loads(archive.read("verdicts.json"))
    heads = {a["chain_head"] for a in manifest["attempts"]} | {""}
    for row in verdicts:
        if row["chain_head"] not in heads:
            found.append(f"step {row['step']} verdict: names a chain head no attempt has")
    # The digest names the report's revision past 1 (evidence.campaign_rows).
    rows = evidence.campaign_rows(revision=manifest.get("report_revision", 1), verdicts=verdicts)
    if evidence.fold(rows)[0] != manifest["evidence_digest"]:
        found.append("verdicts: do not fold to the evidence digest")
    return found


def main(argv: list[str]) -> int:
    found = verify(argv[1])
    for line in found:
        print(line)
    print("verified" if not found else f"{len(found)} problem(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
