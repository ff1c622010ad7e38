"""sslyze, the TLS scanner, run against a proxy published on 127.0.0.1 under a host name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def sslyze_intermediate(
    port: int, root: Path, server_name: str
) -> subprocess.CompletedProcess[str]:
    """sslyze's check of the proxy at 127.0.0.1:`port`, reached as `server_name` (SNI and the
    certificate's name), against Mozilla's "intermediate" configuration, trusting `root` only."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "sslyze",
            "--mozilla_config=intermediate",
            f"--certinfo_ca_file={root}",
            f"{server_name}:{port}{{127.0.0.1}}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
