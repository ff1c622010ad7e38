"""``python -m fakeoss``: flags (its main, in this process), and as a process: serving, logging,
SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import oss2
import pytest

from fakeoss.__main__ import main


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_bad_flag_is_a_one_line_error_with_non_zero_exit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--port", "x"])

    assert exited.value.code != 0
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_server_serves_logs_without_secrets_and_stops_on_sigterm() -> None:
    port = _free_port()
    argv = [sys.executable, "-m", "fakeoss", "--port", str(port)]
    argv += ["--access-key-id", "cli-id", "--access-key-secret", "cli-secret", "--bucket", "bkt"]
    process = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    try:
        bucket = oss2.Bucket(oss2.Auth("cli-id", "cli-secret"), f"http://127.0.0.1:{port}", "bkt")
        deadline = time.monotonic() + 30
        while True:
            try:
                bucket.put_object("k", b"v")
                break
            except oss2.exceptions.RequestError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        url = bucket.sign_url("GET", "k", 60)
        assert bucket.get_object_with_url(url).read() == b"v"

        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=10)  # stopped on the signal, not killed below
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 0
    assert "PUT /bkt/k 200" in log
    assert "cli-secret" not in log
    assert "Signature" not in log


def test_buckets_are_not_created_on_demand_unless_asked() -> None:
    from fakeoss.__main__ import _parser

    base = ["--access-key-id", "i", "--access-key-secret", "s"]

    assert _parser().parse_args(base).create_buckets_on_demand is False
    on_demand = _parser().parse_args([*base, "--create-buckets-on-demand"])
    assert on_demand.create_buckets_on_demand is True
