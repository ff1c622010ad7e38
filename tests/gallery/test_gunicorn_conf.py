"""The web container's gunicorn settings: its master and workers leave without the interpreter's
teardown, keeping the exit status gunicorn meant."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from support.gallery import wait_for
from support.loopback import free_port

CONF = Path(__file__).resolve().parents[2] / "containers" / "web" / "gunicorn.conf.py"

APP = """
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""


def start_gunicorn(
    workdir: Path, conf: Path, port: int, **extra_env: str
) -> subprocess.Popen[bytes]:
    (workdir / "tinyapp.py").write_text(APP)
    env = {
        **os.environ,
        **extra_env,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(conf), "--chdir", str(workdir), "tinyapp:app"],
        env=env,
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def answers(port: int) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
            return bool(response.read() == b"ok")
    except OSError:
        return False


def test_sigterm_stops_gunicorn_with_status_0_and_its_last_lines_written(tmp_path: Path) -> None:
    port = free_port()
    process = start_gunicorn(tmp_path, CONF, port)
    try:
        wait_for(lambda: answers(port), what="gunicorn answering")
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 0
    assert b"Shutting down: Master" in output  # flushed before leaving


def test_a_worker_that_cannot_boot_stops_gunicorn_with_status_3(tmp_path: Path) -> None:
    failing = tmp_path / "failing.conf.py"
    failing.write_text(
        f"exec(compile(open({str(CONF)!r}).read(), {str(CONF)!r}, 'exec'))\n"
        "def post_worker_init(worker):\n"
        "    raise RuntimeError('this worker cannot boot')\n"
    )
    process = start_gunicorn(tmp_path, failing, free_port())
    try:
        output, _ = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 3, output.decode(errors="replace")
    assert b"Worker failed to boot" in output


def test_under_devreload_overlap_a_listening_gunicorn_says_it_is_ready(tmp_path: Path) -> None:
    ready = threading.Event()
    previous = signal.signal(signal.SIGUSR1, lambda number, frame: ready.set())
    port = free_port()
    process = start_gunicorn(tmp_path, CONF, port, DEVRELOAD_NOTIFY_PID=str(os.getpid()))
    try:
        wait_for(ready.is_set, what="gunicorn's SIGUSR1")
        wait_for(lambda: answers(port), what="gunicorn answering")
    finally:
        process.terminate()  # its workers go with it (a killed master leaves them behind a while)
        process.communicate(timeout=20)
        signal.signal(signal.SIGUSR1, previous)


def gunicorn_settings() -> dict[str, object]:
    """gunicorn.conf.py's names, read in this process: the environment it sets for gunicorn
    (PROMETHEUS_MULTIPROC_DIR, which would put this process's metrics in multiprocess mode) is
    put back and the folder it made removed."""
    import runpy
    import shutil
    from unittest import mock

    with mock.patch.dict(os.environ):
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        names = runpy.run_path(str(CONF))
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    return names


def upstream_idle_seconds(template: str) -> int:
    """nginx's keepalive_timeout inside the template's upstream block, in seconds."""
    block = template[template.index("upstream web_app {") :]
    block = block[: block.index("\n}")]  # the block's own closing line (${...} has braces too)
    values = [
        line.split()[1] for line in block.splitlines() if line.split()[:1] == ["keepalive_timeout"]
    ]
    assert len(values) == 1, "the upstream block sets keepalive_timeout once"
    assert values[0].endswith("s;"), values[0]
    return int(values[0][:-2])


def test_nginx_lets_idle_upstream_connections_go_before_gunicorn_and_within_seconds() -> None:
    template = (CONF.parents[1] / "nginx" / "default.conf.template").read_text()
    nginx_idle = upstream_idle_seconds(template)
    gunicorn_keepalive = gunicorn_settings()["keepalive"]
    # gunicorn closing first could cut a connection nginx is reusing at that moment (a POST on it
    # then fails with 502: nginx retries only idempotent requests).
    assert nginx_idle < gunicorn_keepalive
    # A stopping gunicorn keeps idle kept-alive connections up to its graceful_timeout: nginx
    # holding them for a minute made every recreate of web after a request wait that second.
    assert nginx_idle <= 5


def test_a_given_metrics_folder_is_emptied_of_a_previous_runs_values(tmp_path: Path) -> None:
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_12345.db").write_bytes(b"last run's counts")
    port = free_port()
    process = start_gunicorn(tmp_path, CONF, port, PROMETHEUS_MULTIPROC_DIR=str(folder))
    try:
        wait_for(lambda: answers(port), what="gunicorn answering")
    finally:
        process.terminate()
        process.communicate(timeout=20)
    assert not (folder / "counter_12345.db").exists()
