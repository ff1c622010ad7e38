"""paramiko is loaded on first use, not by `import docker`: each case in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run_python(code: str) -> str:
    finished = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 0, finished.stderr
    return finished.stdout.strip()


def test_importing_docker_after_stackctl_leaves_paramiko_unloaded() -> None:
    assert (
        run_python(
            """
        import sys
        import stackctl
        import docker
        from docker.transport import sshconn
        print(sorted(name for name in sys.modules if name.startswith("paramiko.")))
        """
        )
        == "[]"
    )


def test_first_use_loads_the_real_module_for_every_holder_of_the_stand_in() -> None:
    assert (
        run_python(
            """
        import sys
        import stackctl
        from docker.transport import sshconn
        client = sshconn.paramiko.SSHClient  # docker-py's own name for it
        import paramiko
        from paramiko.client import SSHClient
        print(client is SSHClient is paramiko.SSHClient, "paramiko.transport" in sys.modules)
        """
        )
        == "True True"
    )


def test_threads_first_use_loads_the_module_once() -> None:
    assert (
        run_python(
            """
        import threading
        import stackctl
        from stackctl import lazyimport
        found = []
        barrier = threading.Barrier(4)
        def use():
            barrier.wait()
            found.append(lazyimport.load("paramiko").SSHClient)
        threads = [threading.Thread(target=use) for _ in range(4)]
        for thread in threads: thread.start()
        for thread in threads: thread.join()
        print(len(found), len(set(found)))
        """
        )
        == "4 1"
    )


def test_a_module_that_is_not_installed_still_fails_to_import() -> None:
    assert (
        run_python(
            """
        from stackctl import lazyimport
        lazyimport.defer("no_such_module_here")
        try:
            import no_such_module_here
        except ImportError:
            print("ImportError")
        """
        )
        == "ImportError"
    )
