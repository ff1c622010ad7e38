"""Compose variable interpolation: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR:?error}`, `$$`.

The rules are compose's (compose-go `template`): a `$` not followed by a name, `{` or `$` stays as
it is, a malformed `${...}` is an error, and defaults may themselves hold `${...}`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

_NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
# Longest first: ":-" must win over "-".
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


class InterpolationError(ValueError):
    """A `${...}` expression that cannot be evaluated. str() is the reason, without the location."""


class MissingRequiredVariable(InterpolationError):
    def __init__(self, variable: str, message: str) -> None:
        self.variable = variable
        self.message = message
        reason = f"required variable {variable} is missing a value"
        super().__init__(f"{reason}: {message}" if message else reason)


class InvalidTemplate(InterpolationError):
    def __init__(self, template: str) -> None:
        self.template = template
        super().__init__("invalid interpolation format")


def interpolate(
    text: str,
    variables: Mapping[str, str],
    on_missing: Callable[[str], None] | None = None,
) -> str:
    """`text` with every variable reference replaced from `variables`.

    An unset `${VAR}` becomes "" (as in compose) and is reported to `on_missing`.
    """
    if "$" not in text:
        return text  # most strings: no need to set up a walk
    return _Interpolation(text, variables, on_missing).run()


class _Interpolation:
    def __init__(
        self,
        text: str,
        variables: Mapping[str, str],
        on_missing: Callable[[str], None] | None,
    ) -> None:
        self.text = text
        self.variables = variables
        self.on_missing = on_missing

    def run(self) -> str:
        return self._expand(0, len(self.text))

    def _expand(self, start: int, end: int) -> str:
        text = self.text
        out: list[str] = []
        i = start
        while i < end:
            dollar = text.find("$", i, end)
            if dollar < 0:
                out.append(text[i:end])
                break
            out.append(text[i:dollar])
            following = text[dollar + 1 : dollar + 2] if dollar + 1 < end else ""
            if following == "$":
                out.append("$")
                i = dollar + 2
            elif following == "{":
                value, i = self._braced(dollar, end)
                out.append(value)
            elif name := _NAME.match(text, dollar + 1, end):
                out.append(self._lookup(name.group()))
                i = name.end()
            else:
                out.append("$")
                i = dollar + 1
        return "".join(out)

    def _braced(self, dollar: int, end: int) -> tuple[str, int]:
        """Evaluates `${...}` starting at `dollar`; returns the value and the index after `}`."""
        text = self.text
        name_match = _NAME.match(text, dollar + 2, end)
        if name_match is None:
            raise InvalidTemplate(self._template_from(dollar, end))
        name = name_match.group()
        after_name = name_match.end()
        if text.startswith("}", after_name):
            return self._lookup(name), after_name + 1
        operator = next((op for op in _OPERATORS if text.startswith(op, after_name)), None)
        if operator is None:
            raise InvalidTemplate(self._template_from(dollar, end))
        arg_start = after_name + len(operator)
        close = self._matching_brace(arg_start, end)
        if close is None:
            raise InvalidTemplate(text[dollar:end])
        value = self.variables.get(name)
        usable = value is not None and (value != "" or ":" not in operator)
        if operator in (":-", "-"):
            result = value if usable and value is not None else self._expand(arg_start, close)
        elif operator in (":?", "?"):
            if not usable or value is None:
                raise MissingRequiredVariable(name, self._expand(arg_start, close))
            result = value
        else:
            result = self._expand(arg_start, close) if usable else ""
        return result, close + 1

    def _matching_brace(self, start: int, end: int) -> int | None:
        text = self.text
        depth = 1
        i = start
        while i < end:
            if text.startswith("$$", i):
                i += 2
            elif text.startswith("${", i):
                depth += 1
                i += 2
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    return i
                i += 1
            else:
                i += 1
        return None

    def _template_from(self, dollar: int, end: int) -> str:
        close = self.text.find("}", dollar, end)
        return self.text[dollar : close + 1 if close >= 0 else end]

    def _lookup(self, name: str) -> str:
        value = self.variables.get(name)
        if value is None:
            if self.on_missing is not None:
                self.on_missing(name)
            return ""
        return value
