"""Reading compose files: a 5.8 MB compose.yaml through stackctl's loader against PyYAML's
libyaml loader (CSafeLoader) in the same run, CPU seconds, medians of --rounds; and the slowest
of the hostile files the tests refuse (alias bomb at 10^10, 1,000-deep nesting, 50 MB, binary,
duplicate keys, ...), wall seconds until the one-line refusal. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "stackctl"))

from test_yamlfile import HOSTILE, _big_compose, _write  # noqa: E402

from stackctl.compose import load_project  # noqa: E402
from stackctl.compose.yamlfile import load_yaml  # noqa: E402
from stackctl.errors import ComposeError  # noqa: E402


def cpu_seconds(load: object, text: str, rounds: int) -> float:
    spent = []
    for _ in range(rounds):
        started = time.process_time()
        load(text)  # type: ignore[operator]
        spent.append(time.process_time() - started)
    return statistics.median(spent)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    text = _big_compose(5_800_000)
    ours = cpu_seconds(lambda t: load_yaml(t, "compose.yaml"), text, options.rounds)
    libyaml = cpu_seconds(lambda t: yaml.load(t, Loader=yaml.CSafeLoader), text, options.rounds)
    slowest, slowest_name = 0.0, ""
    with tempfile.TemporaryDirectory() as tmp:
        for name, (make, _) in HOSTILE.items():
            compose = _write(Path(tmp) / "compose.yaml", make())
            started = time.perf_counter()
            try:
                load_project(compose, {})
            except ComposeError:
                pass
            else:
                raise SystemExit(f"bench_compose_load: hostile file {name} was accepted")
            took = time.perf_counter() - started
            if took > slowest:
                slowest, slowest_name = took, name
    print(
        json.dumps(
            {
                "megabytes": round(len(text) / 1e6, 1),
                "ours_cpu_s": round(ours, 2),
                "csafeloader_cpu_s": round(libyaml, 2),
                "hostile_slowest_s": round(slowest, 3),
                "hostile_slowest": slowest_name,
                "hostile_files": len(HOSTILE),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
