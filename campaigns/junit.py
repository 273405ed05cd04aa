"""A run's results as JUnit XML for a CI server: one test case per acceptance criterion.

Passed is a pass, failed a failure; not observed and not applicable are skipped with the
reason (a criterion nobody could observe is not the station's failure); a step planned not
applicable (or not supported by the lab) is skipped with its reason; a step that did not run, or
ended without judging its criteria, is an error. ``manage.py run_campaign --junit`` and the
campaign's verdicts download (campaigns/exports.py) both write it here."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

from campaigns.unattended import StepOutcome


def write_junit(path: Path, *, name: str, outcomes: list[StepOutcome]) -> None:
    path.write_text(junit_xml(name=name, outcomes=outcomes))


def junit_xml(*, name: str, outcomes: list[StepOutcome]) -> str:
    suites = ET.Element("testsuites", name=name)
    for outcome in outcomes:
        suite = ET.SubElement(suites, "testsuite", name=f"{outcome.number} {outcome.title}")
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        classname = f"step{outcome.number:02d}"
        if outcome.not_planned:
            case = ET.SubElement(suite, "testcase", classname=classname, name=outcome.title)
            ET.SubElement(case, "skipped", message=outcome.not_planned).text = outcome.not_planned
            counts["tests"], counts["skipped"] = 1, 1
        elif outcome.attempt is None or not outcome.criteria:
            case = ET.SubElement(suite, "testcase", classname=classname, name=outcome.title)
            reason = outcome.skipped or (
                f"{outcome.attempt.get_status_display()}: {outcome.attempt.proposed_text}"
                if outcome.attempt
                else "did not run"
            )
            ET.SubElement(case, "error", message=reason).text = reason
            counts["tests"], counts["errors"] = 1, 1
        for criterion in outcome.criteria:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=classname,
                name=f"{criterion['key']} {criterion['text']}",
            )
            detail = "\n".join(criterion["details"])
            counts["tests"] += 1
            if criterion["outcome"] == "failed":
                ET.SubElement(case, "failure", message="failed").text = detail
                counts["failures"] += 1
            elif criterion["outcome"] != "passed":
                message = criterion["outcome"].replace("_", " ")
                ET.SubElement(case, "skipped", message=message).text = detail
                counts["skipped"] += 1
            if detail:
                ET.SubElement(case, "system-out").text = detail
        for key, value in counts.items():
            suite.set(key, str(value))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
