"""Dotenv files (the project's `.env`, a service's `env_file`) read strictly: a line that does not
parse is an error naming the file and the line, where python-dotenv would only log and skip it."""

from __future__ import annotations

import json
import re
from pathlib import Path

from dotenv.parser import parse_stream

from stackctl.errors import ComposeError


def read_env_file(path: Path, shown_as: str, *, secret: bool = False) -> dict[str, str | None]:
    """KEY=VALUE pairs of `path`, values taken literally; a bare `KEY` line maps to None.

    `shown_as` is how errors name the file (relative to the project, like `.env`). With
    `secret`, an error names the line's key but never its value.
    """
    try:
        with path.open(encoding="utf-8") as stream:
            bindings = list(parse_stream(stream))
    except FileNotFoundError:
        raise ComposeError(f"{shown_as}: file not found ({path})") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = " ".join(str(exc).split())
        raise ComposeError(f"{shown_as}: cannot read: {reason}") from None
    values: dict[str, str | None] = {}
    for binding in bindings:
        if binding.error:
            text = binding.original.string
            code = text.lstrip()
            line = binding.original.line + text[: len(text) - len(code)].count("\n")
            first = code.splitlines()[0] if code else ""
            if secret:
                # Only the leading name: the rest of a broken line may be the secret itself.
                found = re.match(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]{0,63})", first)
                key = found.group(1) if found else "?"
                raise ComposeError(
                    f"{shown_as}: line {line}: cannot parse the line of key"
                    f" {json.dumps(key, ensure_ascii=False)} (value not shown: a secrets file):"
                    " expected KEY=VALUE, quote a value with spaces or # in it"
                )
            raise ComposeError(
                f"{shown_as}: line {line}: cannot parse {json.dumps(first, ensure_ascii=False)}:"
                " expected KEY=VALUE"
            )
        if binding.key is not None:
            values[binding.key] = binding.value
    return values


def read_dotenv(project_dir: Path) -> dict[str, str]:
    """The project's `.env` (none: empty), read as strictly as any env file. Every reader of it
    (settings, compose interpolation, deploy settings) goes through here, so a line one of them
    would skip is an error for all. A bare `KEY` line sets nothing."""
    path = project_dir / ".env"
    if not path.is_file():
        return {}
    values = read_env_file(path, ".env")
    return {key: value for key, value in values.items() if value is not None}
