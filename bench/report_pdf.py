"""The PDF report of a full 16-step campaign whose final attempts hold 10,000 frames of
evidence, through the PDF view (queries, appendix, WeasyPrint, CertLab's frame pages).

    python -m bench.report_pdf [--frames 10000] [--history 0] [--runs 3] [--write --label L]
    python -m bench.report_pdf --frames 120 --runs 0 --save docs   # the README's pictures

--history N adds N changes to the campaign's history (its report's last appendix; a normal
campaign has 50-100), every tenth with texts of about 200 characters
(tests.campaigns.report_campaign.add_history). --write puts the runs' figures in
docs/PERFORMANCE.md, in the case's own table (between its markers, one row per --label: a
change measured before and after keeps both rows).

--save DIR writes the PDF of a campaign and PNGs (pdftoppm, Debian's poppler-utils) of its first
page, of step 8's appendix page and of a page of frames.

Target (issue 10): at most 5 s and at most 300 MB peak memory. Each run renders in a fresh
process, so its peak resident memory (ru_maxrss, Django and WeasyPrint included) is the
report's alone; the time is the view's, from request to the PDF's last byte.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from bench import common


def build(frames: int, history: int = 0) -> int:
    from accounts.models import User
    from tests.campaigns.report_campaign import add_history, full_campaign
    from tests.factories import StationFactory

    qa, _ = User.objects.get_or_create(username="bench-qa", defaults={"role": "qa"})
    run = f"{time.time_ns():x}"[-8:]  # factory sequences restart with each process
    station = StationFactory(
        charge_point_id=f"BENCH-REPORT-{run}", charger_model__name=f"Bench report {run}",
        charger_model__manufacturer__name=f"Bench report maker {run}",
    )  # fmt: skip
    campaign = full_campaign(station=station, owner=qa, frames=frames)
    if history:
        add_history(campaign, entries=history, user=qa)
    return campaign.pk


def render(campaign_id: int) -> dict:
    """Two renders in one process: the first pays for importing WeasyPrint and cutting the
    fonts once (what a server's first PDF pays), the second is what every later one costs."""
    import io

    from django.test import RequestFactory
    from pypdf import PdfReader

    from accounts.models import User
    from campaigns.views import report_pdf

    request = RequestFactory().get(f"/campaigns/{campaign_id}/report.pdf", HTTP_HOST="127.0.0.1")
    request.user = User.objects.get(username="bench-qa")
    timings = []
    for _ in range(2):
        wall, cpu = time.perf_counter(), time.process_time()
        response = report_pdf(request, campaign_id)
        timings.append((time.perf_counter() - wall, time.process_time() - cpu))
    pages = len(PdfReader(io.BytesIO(response.content)).pages)
    return {
        "cold_seconds": round(timings[0][0], 2),
        "seconds": round(timings[1][0], 2),
        "cpu_seconds": round(timings[1][1], 2),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "pages": pages,
        "megabytes": round(len(response.content) / 2**20, 2),
        "load": round(os.getloadavg()[0], 1),
    }


def save(campaign_id: int, directory: Path) -> None:
    import io

    from django.test import RequestFactory
    from pypdf import PdfReader

    from accounts.models import User
    from campaigns.views import report_pdf

    request = RequestFactory().get("/", HTTP_HOST="127.0.0.1")
    request.user = User.objects.get(username="bench-qa")
    pdf = report_pdf(request, campaign_id).content
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "report-example.pdf"
    target.write_bytes(pdf)
    texts = [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]
    pages = {
        "report-first-page": 1,
        "report-appendix-page": next(i for i, t in enumerate(texts, 1) if "8 · Receive Meter" in t),
        "report-frames-page": next(i for i, t in enumerate(texts, 1) if "— frames F" in t),
    }
    history = [i for i, t in enumerate(texts, 1) if "Appendix: history of the report" in t]
    if history:
        pages["report-history-page"] = history[0]
    for name, number in pages.items():
        subprocess.run(
            ["pdftoppm", "-png", "-r", "80", "-f", str(number), "-l", str(number),
             "-singlefile", str(target), str(directory / name)],
            check=True,
        )  # fmt: skip
        print(f"{directory / name}.png: page {number}")


def write_doc(args: argparse.Namespace, results: list[dict]) -> None:
    """The runs as one row of the case's table, under --label; rows of other labels kept."""
    case = f"frames={args.frames} history={args.history}"
    start, end = f"<!-- report_pdf {case} figures -->", f"<!-- /report_pdf {case} figures -->"

    def span(key: str) -> str:
        values = sorted(r[key] for r in results)
        return f"{values[0]}" if values[0] == values[-1] else f"{values[0]}-{values[-1]}"

    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    row = (
        f"| {args.label} | {stamp} | **{span('cpu_seconds')} s** | {span('seconds')} s | "
        f"{span('cold_seconds')} s | {max(r['peak_mb'] for r in results)} MB | "
        f"{results[0]['pages']} | {span('load')} |"
    )
    old = common.PERFORMANCE.read_text().partition(start)[2].partition(end)[0]
    rows = [line for line in old.splitlines() if line.startswith("| ") and
            not line.startswith(("| Code", f"| {args.label} |"))]  # fmt: skip
    common.write_figures(f"report_pdf {case}", "The report PDF", [
        f"`python -m bench.report_pdf --frames {args.frames} --history {args.history} --runs "
        f"{len(results)}`, per render (the second in its process; the first also imports "
        "WeasyPrint and cuts the fonts):",
        "",
        "| Code | Measured (UTC) | CPU | Wall | First render (wall) | Peak RSS | Pages | Load |",
        "|---|---|---|---|---|---|---|---|",
        *rows, row,
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--history", type=int, default=0, help="entries in the history")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--render", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--save", help="directory for the PDF and PNGs of its pages")
    parser.add_argument("--write", action="store_true", help="put the figures in the doc")
    parser.add_argument("--label", default="current", help="the row's name in the doc's table")
    args = parser.parse_args()
    common.setup_django()
    if args.render:
        print(json.dumps(render(args.render)))
        return
    common.migrate()
    campaign_id = build(args.frames, args.history)
    print(f"campaign #{campaign_id}: 16 steps, {args.frames} frames of evidence, "
          f"{args.history} more history entries")  # fmt: skip
    if args.save:
        save(campaign_id, Path(args.save))
    results = []
    if not args.runs:
        return
    for run in range(args.runs):
        out = subprocess.run(
            [sys.executable, "-m", "bench.report_pdf", "--render", str(campaign_id)],
            capture_output=True, text=True, check=True, cwd=common.ROOT,
        ).stdout  # fmt: skip
        result = json.loads(out.strip().splitlines()[-1])
        results.append(result)
        print(
            f"run {run + 1}: {result['seconds']} s ({result['cpu_seconds']} s CPU; first render "
            f"in the process {result['cold_seconds']} s), peak {result['peak_mb']} MB, "
            f"{result['pages']} pages, {result['megabytes']} MB, load {result['load']}"
        )
    seconds = sorted(r["seconds"] for r in results)[len(results) // 2]
    peak = max(r["peak_mb"] for r in results)
    print(f"median {seconds} s (target 5 s), peak {peak} MB (target 300 MB)")
    if args.write:
        write_doc(args, results)


if __name__ == "__main__":
    main()
