"""nginx's upstream watcher (containers/nginx/upstream.sh), run on this machine with a stand-in
`getent` on PATH: it reloads nginx when the upstream's addresses change, and only then, however
the DNS server orders a round-robin answer."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "containers" / "nginx" / "upstream.sh"

# A stand-in for glibc's `getent ahostsv4`: the answer in the file ANSWER, rotated by one at each
# call (Docker's DNS round robin), printed the way getent prints it: three lines per address, the
# canonical name beside the first address only.
GETENT = r"""#!/bin/sh
count=$(cat "$ANSWER.calls" 2>/dev/null || echo 0)
echo $((count + 1)) > "$ANSWER.calls.new" && mv "$ANSWER.calls.new" "$ANSWER.calls"
set -- $(cat "$ANSWER")
[ "$#" -gt 0 ] || exit 2
skip=$((count % $#))
rotated=""
i=0
for address in "$@"; do
    if [ "$i" -ge "$skip" ]; then rotated="$rotated $address"; fi
    i=$((i + 1))
done
i=0
for address in "$@"; do
    if [ "$i" -lt "$skip" ]; then rotated="$rotated $address"; fi
    i=$((i + 1))
done
name=" $HOST"
for address in $rotated; do
    echo "$address      STREAM$name"
    echo "$address      DGRAM"
    echo "$address      RAW"
    name=""
done
"""

# A stand-in for nginx's master: counts the HUPs it gets.
MASTER = """
trap 'echo hup >> "$HUPS"' HUP
while :; do sleep 0.05; done
"""


@pytest.fixture
def stand_ins(tmp_path: Path) -> Iterator[dict[str, str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    getent = bin_dir / "getent"
    getent.write_text(GETENT)
    getent.chmod(0o755)
    answer = tmp_path / "answer"
    hups = tmp_path / "hups"
    hups.write_text("")
    environment = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "ANSWER": str(answer),
        "HOST": "tasks.app_web",
        "HUPS": str(hups),
    }
    master = subprocess.Popen(["sh", "-c", MASTER], env=environment)
    pidfile = tmp_path / "nginx.pid"
    pidfile.write_text(f"{master.pid}\n")
    try:
        yield {**environment, "PIDFILE": str(pidfile)}
    finally:
        master.kill()
        master.wait()


def answer(stand_ins: dict[str, str], *addresses: str) -> None:
    Path(stand_ins["ANSWER"]).write_text(" ".join(addresses))


def reloads(stand_ins: dict[str, str]) -> int:
    return Path(stand_ins["HUPS"]).read_text().count("hup")


def calls(stand_ins: dict[str, str]) -> int:
    path = Path(f"{stand_ins['ANSWER']}.calls")
    return int(path.read_text()) if path.exists() else 0


@pytest.fixture
def watchers() -> Iterator[list[subprocess.Popen[str]]]:
    """The watchers a test starts: each in a process group of its own, killed with its
    lookups however the test ends."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for watcher in started:
        if watcher.poll() is None:
            os.killpg(watcher.pid, signal.SIGKILL)
            watcher.communicate()


def watch_for(
    stand_ins: dict[str, str], watchers: list[subprocess.Popen[str]], *, lookups: int
) -> subprocess.Popen[str]:
    watcher = subprocess.Popen(
        ["sh", str(SCRIPT), "watch", "tasks.app_web", "0.05", stand_ins["PIDFILE"]],
        env=stand_ins,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    watchers.append(watcher)
    wait_lookups(stand_ins, lookups)
    return watcher


def wait_lookups(stand_ins: dict[str, str], lookups: int) -> None:
    """Until the watcher has looked the name up `lookups` times (30 s at most)."""
    deadline = time.monotonic() + 30
    while calls(stand_ins) < lookups:
        assert time.monotonic() < deadline, f"the watcher looked {calls(stand_ins)} times"
        time.sleep(0.02)


def stop(watcher: subprocess.Popen[str]) -> str:
    watcher.send_signal(signal.SIGTERM)
    _, errors = watcher.communicate(timeout=10)
    return errors


def addresses(stand_ins: dict[str, str]) -> str:
    """What `stack-nginx-upstream addresses` prints for the name."""
    found = subprocess.run(
        ["sh", str(SCRIPT), "addresses", "tasks.app_web"],
        env=stand_ins,
        capture_output=True,
        text=True,
        check=True,
    )
    return found.stdout


def test_addresses_are_the_sorted_set_without_the_canonical_name(
    stand_ins: dict[str, str],
) -> None:
    answer(stand_ins, "10.0.1.21", "10.0.1.18", "10.0.1.20")
    seen = set()
    for _ in range(3):  # each call rotates the answer: the first address differs each time
        seen.add(addresses(stand_ins))
    assert seen == {"10.0.1.18\n10.0.1.20\n10.0.1.21\n"}


def test_a_name_that_does_not_resolve_prints_nothing(stand_ins: dict[str, str]) -> None:
    answer(stand_ins)
    assert addresses(stand_ins) == ""


def test_a_round_robin_answer_in_a_new_order_reloads_nothing(
    stand_ins: dict[str, str], watchers: list[subprocess.Popen[str]]
) -> None:
    answer(stand_ins, "10.0.1.18", "10.0.1.20", "10.0.1.21")
    watcher = watch_for(stand_ins, watchers, lookups=12)
    errors = stop(watcher)
    assert reloads(stand_ins) == 0, errors


def test_a_changed_set_reloads_once_and_a_failed_lookup_not_at_all(
    stand_ins: dict[str, str], watchers: list[subprocess.Popen[str]]
) -> None:
    answer(stand_ins, "10.0.1.18", "10.0.1.20")
    watcher = watch_for(stand_ins, watchers, lookups=3)
    answer(stand_ins, "10.0.1.20", "10.0.1.22")  # one task replaced
    wait_lookups(stand_ins, calls(stand_ins) + 4)
    answer(stand_ins)  # the name gone for a moment: nginx keeps what it has
    wait_lookups(stand_ins, calls(stand_ins) + 4)
    answer(stand_ins, "10.0.1.20", "10.0.1.22")  # back, unchanged
    wait_lookups(stand_ins, calls(stand_ins) + 4)
    errors = stop(watcher)
    assert reloads(stand_ins) == 1, errors
    assert "tasks.app_web moved (10.0.1.20 10.0.1.22), reloading nginx" in errors


def test_a_wrong_call_is_one_line_and_status_64() -> None:
    found = subprocess.run(["sh", str(SCRIPT), "resolve"], capture_output=True, text=True)
    assert found.returncode == 64
    assert found.stderr.strip().startswith("usage: stack-nginx-upstream")
