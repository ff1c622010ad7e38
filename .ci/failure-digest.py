"""Print the failed tests of the sessions' JUnit reports, each with the end of its traceback and
of what it printed (a fixture's account of the failure, e.g. the Swarm module's task table).

.ci/run calls it when it fails: a CI log is often read from its tail only, and pytest's own
account of a failure sits above the coverage report and the sessions that ran after it. Reads
artifacts/junit/*.xml (noxfile's run_pytest writes one per session); prints nothing when no test
failed, e.g. when a step other than pytest stopped the run.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

TAIL_LINES = 25
OUTPUT_LINES = 120


def tail(text: str, lines: int) -> str:
    return "\n".join(text.splitlines()[-lines:])


def failures(report: Path) -> list[tuple[str, str]]:
    try:
        # pytest wrote these reports on this machine a moment ago: not untrusted input.
        root = ET.parse(report).getroot()  # noqa: S314
    except ET.ParseError as error:
        return [(report.name, f"unreadable report: {error}")]
    found = []
    for case in root.iter("testcase"):
        for outcome in ("failure", "error"):
            element = case.find(outcome)
            if element is None:
                continue
            name = f"{case.get('classname', '')}::{case.get('name', '')}"
            text = tail((element.text or element.get("message") or "").rstrip(), TAIL_LINES)
            printed = tail((case.findtext("system-out") or "").rstrip(), OUTPUT_LINES)
            if printed:
                text += "\n-- what it printed (the end):\n" + printed
            found.append((f"{name} ({outcome})", text))
    return found


def main(folder: Path) -> int:
    reports = sorted(folder.glob("*.xml")) if folder.is_dir() else []
    shown = 0
    for report in reports:
        for name, text in failures(report):
            if not shown:
                print("\n=== failed tests (the end of each traceback; whole: artifacts/junit/)")
            shown += 1
            print(f"\n--- {report.stem}: {name}")
            print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "artifacts/junit")))
