"""Dotenv files (the project's `.env`, a service's `env_file`) read strictly: a line that does not
parse is an error naming the file and the line, where python-dotenv would only log and skip it.

Values are interpolated as compose v2 interpolates them: an unquoted or double-quoted value
expands `$VAR`, `${VAR:-default}`, ... from the environment first, then from the file's earlier
lines; a single-quoted value stays as written.
"""

from __future__ import annotations

import json
import os
import re
from collections import ChainMap
from collections.abc import Mapping
from pathlib import Path

from dotenv.parser import parse_stream

from stackctl.compose.interpolate import InvalidTemplate, MissingRequiredVariable, interpolate
from stackctl.errors import ComposeError

# What precedes a binding's value: its quote, if any, decides whether it is interpolated.
_VALUE_START = re.compile(r"\s*(?:export\s+)?[^=]*=[ \t]*(['\"]?)")


def read_env_file(
    path: Path,
    shown_as: str,
    *,
    secret: bool = False,
    variables: Mapping[str, str] | None = None,
) -> dict[str, str | None]:
    """KEY=VALUE pairs of `path`; a bare `KEY` line maps to None.

    With `variables` (the environment), values are interpolated as compose v2 does: unquoted
    and double-quoted ones from `variables`, then the file's earlier values; without, every
    value is taken literally. `shown_as` is how errors name the file (relative to the project,
    like `.env`). With `secret`, an error names the line's key but never its value.
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
    known: dict[str, str] = {}
    lookup = None if variables is None else ChainMap(dict(variables), known)
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
        if binding.key is None:
            continue
        value = binding.value
        if value is not None and lookup is not None and "$" in value:
            found = _VALUE_START.match(binding.original.string)
            if not (found and found.group(1) == "'"):
                line = binding.original.line + _leading_lines(binding.original.string)
                where = f"{shown_as}: line {line}"
                value = _interpolated(value, lookup, where, binding.key, secret=secret)
        values[binding.key] = value
        if value is not None:
            known[binding.key] = value
    return values


def _leading_lines(text: str) -> int:
    return text[: len(text) - len(text.lstrip())].count("\n")


def _interpolated(
    value: str, lookup: Mapping[str, str], where: str, key: str, *, secret: bool
) -> str:
    try:
        return interpolate(value, lookup)
    except MissingRequiredVariable as exc:
        raise ComposeError(f"{where}: {key}: {exc}") from None
    except InvalidTemplate as exc:
        template = "(not shown: a secrets file)" if secret else json.dumps(exc.template)
        raise ComposeError(
            f"{where}: {key}: invalid interpolation format {template}:"
            " you may need to escape any $ with another $ (or single-quote the value)"
        ) from None


def read_dotenv(project_dir: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The project's `.env` (none: empty), read as strictly as any env file and interpolated
    against `environ` (default: the process environment) as compose v2 does. Every reader of it
    (settings, compose interpolation, deploy settings) goes through here, so all of them see
    the same values and a line one of them would skip is an error for all. A bare `KEY` line
    sets nothing."""
    path = project_dir / ".env"
    if not path.is_file():
        return {}
    values = read_env_file(path, ".env", variables=os.environ if environ is None else environ)
    return {key: value for key, value in values.items() if value is not None}
