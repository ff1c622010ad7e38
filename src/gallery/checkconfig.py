"""`python -m gallery.checkconfig`: would the app start with this environment? One JSON line.

The answer comes from the same `load_settings` the app runs at start-up, so a check outside the
app (stackctl's `invoke doctor` runs this module in a subprocess) can never drift from the
rules. The line names settings, never their values; the exit code is 1 when the app refuses.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

# Not gallery.factory: the app (Flask, Celery, oss2, Redis) is no part of the answer, and
# importing it made every `invoke doctor` about 0.5 s slower.
from gallery.credentialsource import describe_source
from gallery.settings import (
    DEFAULT_SECRET_KEY,
    PROJECT_ROOT,
    ConfigError,
    choose_config_name,
    load_settings,
)

Status = Literal["ok", "warn", "fail"]
_INVALID = re.compile(r"^setting (\w+)=.*? is invalid: ", re.DOTALL)


@dataclass(frozen=True)
class ConfigReport:
    config: str
    status: Status
    detail: str
    # Where OSS credentials come from (no secrets), once the settings load.
    credentials: str = ""


def without_value(message: str) -> str:
    """`setting REDIS_URL='redis://:pw@...' is invalid: ...` without the value (a URL may hold a
    password; only secrets are masked in the app's own message)."""
    return _INVALID.sub(r"setting \1 is invalid: ", message)


def check_config(environ: Mapping[str, str], instance_path: Path) -> ConfigReport:
    """What the app says about these settings when it starts, without starting it."""
    try:
        config = choose_config_name(None, environ)
    except ConfigError as exc:
        return ConfigReport("?", "fail", str(exc))
    try:
        settings = load_settings(config, instance_path=instance_path, environ=environ)
    except ConfigError as exc:
        return ConfigReport(config, "fail", f"{without_value(str(exc))} (the app refuses to start)")
    source = describe_source(settings)
    if settings.OSS_CREDENTIALS != "access-key":
        # A role mode starts only if it gets credentials: ask as the app would (bounded by
        # OSS_TIMEOUT). Imported here: the access-key answer stays free of the SDKs.
        from gallery.credentials import check_credentials, credentials_provider

        try:
            expiration = check_credentials(settings, credentials_provider(settings))
        except ConfigError as exc:
            return ConfigReport(config, "fail", f"{exc} (the app refuses to start)", source)
        if expiration is not None:
            source += time.strftime(
                "; current ones expire at %Y-%m-%dT%H:%M:%SZ", time.gmtime(expiration)
            )
    if settings.SECRET_KEY.get_secret_value() == DEFAULT_SECRET_KEY:
        detail = "SECRET_KEY is the development default: fine here, set it before production"
        return ConfigReport(config, "warn", detail, source)
    return ConfigReport(config, "ok", "the app starts with these settings", source)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gallery.checkconfig", description=__doc__)
    parser.add_argument(
        "--instance-path",
        type=Path,
        default=None,
        help="the folder holding config.py (default: GALLERY_INSTANCE_PATH, else instance/)",
    )
    args = parser.parse_args(argv)
    instance_path = args.instance_path or Path(
        os.environ.get("GALLERY_INSTANCE_PATH", PROJECT_ROOT / "instance")
    )
    report = check_config(os.environ, instance_path)
    print(json.dumps(asdict(report)))
    return 1 if report.status == "fail" else 0


if __name__ == "__main__":
    sys.exit(main())
