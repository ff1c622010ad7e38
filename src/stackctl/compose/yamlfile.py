"""compose.yaml read the way compose v2 reads it (go-yaml v3), fast, and bounded on hostile input.

Scalars resolve as go-yaml v3 resolves them, not as PyYAML's YAML 1.1 does: `- 8080:80` and
`restart: no` are strings, `010` is the octal 8, `1_000` is 1000, `1e3` the float 1000. A duplicated
key is an error (as in compose), not a silent win.

libyaml parses (its events, with their line and column); the values are built here in one loop,
without PyYAML's node graph and constructor, which is several times faster (see
ARCHITECTURE.md). The same loop bounds what a file can make us do before anything is expanded:

- the file's size (`MAX_FILE_BYTES`), checked while reading, so a 50 MB file costs nothing;
- binary and non-UTF-8 input, named by line;
- nesting depth (`MAX_DEPTH`), checked as containers open, before the walkers that recurse;
- alias expansion (`MAX_ALIAS_VALUES`): an alias shares the anchored value, so building costs
  nothing, but everything after (interpolation, merging, validation) walks the expanded tree.
  The expanded size is counted as aliases come, and a "billion laughs" stops at its first
  alias past the limit.

Every refusal is one ComposeError line naming the file and the line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.scanner import Scanner

from stackctl.compose.scalars import go_text
from stackctl.errors import ComposeError
from stackctl.gcpause import paused_gc


class PurePythonParser(Reader, Scanner, Parser):
    """PyYAML's own parser, for a PyYAML built without libyaml: the same events, 5x slower."""

    def __init__(self, stream: bytes) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)

    def dispose(self) -> None:
        pass


try:
    # libyaml's event parser through PyYAML's public C module (yaml.cyaml, which CSafeLoader is
    # built on), not the private yaml._yaml; typeshed's stub of yaml.cyaml lists only its loaders.
    from yaml.cyaml import CParser as EventParser  # type: ignore[attr-defined]
except ImportError:
    EventParser = PurePythonParser  # type: ignore[misc, assignment]


MAX_FILE_BYTES = 10 * 1024 * 1024
"""No compose file comes near this (the largest seen: 5.8 MB); it reads and parses in ~2 s."""
MAX_DEPTH = 200
"""Compose files nest about 6 levels; Python's walkers recurse, one frame or two per level."""
MAX_ALIAS_VALUES = 1_000_000
"""Values aliases may add to the document once expanded (go-yaml allows a few million)."""

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_RESOLVED_TAGS = {
    "tag:yaml.org,2002:int": int,
    "tag:yaml.org,2002:float": float,
    "tag:yaml.org,2002:bool": bool,
    "tag:yaml.org,2002:null": type(None),
}


class _Merge:
    """The `<<` key of a merge (a plain scalar; a quoted "<<" is an ordinary key)."""


MERGE = _Merge()
_MISSING = object()
# go-yaml v3's resolve table: these exact plain scalars, then numbers by their first character.
_EXACT: dict[str, object] = {
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), float("nan")),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), float("inf")),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), float("-inf")),
    "<<": MERGE,
}
_NUMBER_START = frozenset("+-0123456789.")
# Go's strconv.ParseInt(s, 0, 64) syntax: a leading 0 is octal.
_GO_INT = re.compile(r"([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
_YAML_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_INT64 = (-(2**63), 2**63 - 1)
_UINT64_MAX = 2**64 - 1


def resolve_plain(text: str) -> object:
    """A plain (unquoted, untagged) scalar as go-yaml v3 resolves it: null, bool, int, float or
    the string itself. Underscores in numbers are dropped and a leading 0 means octal, as Go's
    ParseInt(s, 0, 64) reads them; a number too large for a float stays a string."""
    found = _EXACT.get(text, _MISSING)
    if found is not _MISSING:
        return found
    if text[0] not in _NUMBER_START:
        return text
    if text[0] == ".":
        number = text
    else:
        number = text.replace("_", "")
        whole = _GO_INT.fullmatch(number)
        if whole is not None:
            value = _go_int(whole.group(1), whole.group(2))
            if value is not None:
                return value
    if _YAML_FLOAT.fullmatch(number):
        value_f = float(number)
        if value_f not in (float("inf"), float("-inf")):
            return value_f
    return text


def _go_int(sign: str, digits: str) -> int | None:
    prefix = digits[:2].lower()
    if prefix in ("0x", "0o", "0b"):
        value = int(digits[2:], {"0x": 16, "0o": 8, "0b": 2}[prefix])
    elif len(digits) > 1 and digits[0] == "0":
        value = int(digits[1:], 8)
    else:
        value = int(digits, 10)
    if sign == "-":
        value = -value
    if _INT64[0] <= value <= _INT64[1] or (sign == "" and value <= _UINT64_MAX):
        return value
    return None


def read_yaml_file(path: Path, shown_as: str) -> object:
    """The document in the file at `path`; too large, binary, not UTF-8 or not YAML: a
    ComposeError naming `shown_as` (and the line)."""
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ComposeError(f"{shown_as}: file not found ({path})") from None
    except OSError as exc:
        raise ComposeError(f"{shown_as}: cannot read: {exc.strerror or exc}") from None
    return load_yaml(data, shown_as)


def load_yaml(source: str | bytes, shown_as: str) -> object:
    """The document in `source` (text, or the file's bytes); a refusal is a ComposeError."""
    data = source.encode("utf-8", "surrogatepass") if isinstance(source, str) else source
    if len(data) > MAX_FILE_BYTES:
        raise ComposeError(
            f"{shown_as}: too large: over {MAX_FILE_BYTES // (1024 * 1024)} MB,"
            " far beyond any compose file: is it the right file?"
        )
    _check_text(data, shown_as)
    parser = EventParser(data)
    try:
        with paused_gc():  # the collector would double the time, and nothing here is a cycle
            return _Builder(parser, shown_as).document()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = " ".join(str(exc.problem or exc.context or "syntax error").split())
        raise ComposeError(f"{shown_as}: {where}invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise ComposeError(f"{shown_as}: invalid YAML: {' '.join(str(exc).split())}") from None
    finally:
        parser.dispose()


def _check_text(data: bytes, shown_as: str) -> None:
    nul = data.find(b"\0")
    if nul >= 0:
        line, column = _position(data, nul)
        raise ComposeError(
            f"{shown_as}: line {line}, column {column}: binary data (a NUL byte):"
            " expected a YAML text file"
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _position(data, exc.start)
        raise ComposeError(
            f"{shown_as}: line {line}, column {column}: not UTF-8 text"
            f" (byte 0x{data[exc.start]:02x}): save the file as UTF-8"
        ) from None


def _position(data: bytes, offset: int) -> tuple[int, int]:
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", "replace")) + 1
    return data.count(b"\n", 0, offset) + 1, column


def without_extensions(document: object) -> object:
    """`document` without its `x-` keys at the top level and in each service, where compose
    ignores them: nothing after reading (merging, interpolation, validation) walks them."""
    if not isinstance(document, dict):
        return document
    kept = {k: v for k, v in document.items() if not (isinstance(k, str) and k.startswith("x-"))}
    services = kept.get("services")
    if isinstance(services, dict):
        kept["services"] = {
            name: {k: v for k, v in spec.items() if not (isinstance(k, str) and k.startswith("x-"))}
            if isinstance(spec, dict)
            else spec
            for name, spec in services.items()
        }
    return kept


class _Frame:
    """A mapping or a sequence being built."""

    __slots__ = (
        "anchor",
        "explicit",
        "height",
        "is_map",
        "key",
        "key_mark",
        "merges",
        "size",
        "value",
    )

    def __init__(self, is_map: bool, anchor: str | None) -> None:
        self.is_map = is_map
        self.value: list[Any] = []
        self.anchor = anchor
        self.height = 1
        self.size = 1
        self.key: Any = _MISSING
        self.key_mark: Any = None
        self.merges: list[dict[Any, Any]] = []
        self.explicit: dict[Any, Any] = {}


class _Builder:
    def __init__(self, parser: Any, shown_as: str) -> None:
        self.parser = parser
        self.shown_as = shown_as
        # anchor -> (value, values in it once expanded, levels of nesting in it)
        self.anchors: dict[str, tuple[object, int, int]] = {}
        self.aliased = 0

    def fail(self, mark: Any, problem: str) -> ComposeError:
        where = f"line {mark.line + 1}, column {mark.column + 1}"
        return ComposeError(f"{self.shown_as}: {where}: {problem}")

    def document(self) -> object:
        get = self.parser.get_event
        event = get()
        assert isinstance(event, StreamStartEvent)
        event = get()
        if isinstance(event, StreamEndEvent):
            return None
        assert isinstance(event, DocumentStartEvent)
        root = self.node()
        event = get()
        assert isinstance(event, DocumentEndEvent)
        event = get()
        if not isinstance(event, StreamEndEvent):
            raise self.fail(
                event.start_mark, "a second YAML document (---): compose reads one per file"
            )
        return root

    def node(self) -> object:
        """The next node's value, built in one flat loop over the events (no recursion)."""
        get = self.parser.get_event
        stack: list[_Frame] = []
        anchors = self.anchors
        while True:
            event = get()
            cls = type(event)
            if cls is ScalarEvent:
                value = self.scalar(event)
                size, height = 1, 0
                if event.anchor is not None:
                    anchors[event.anchor] = (value, 1, 0)
            elif cls is MappingStartEvent or cls is SequenceStartEvent:
                is_map = cls is MappingStartEvent
                if stack and stack[-1].is_map and stack[-1].key is _MISSING:
                    raise self.fail(
                        event.start_mark, "a mapping key must be a string, not a mapping or list"
                    )
                if len(stack) >= MAX_DEPTH:
                    raise self.fail(
                        event.start_mark,
                        f"nested more than {MAX_DEPTH} levels deep: no compose file needs that",
                    )
                tag = event.tag
                if tag is not None and tag != "!" and tag != (_MAP if is_map else _SEQ):
                    raise self.fail(event.start_mark, f"invalid YAML: unsupported tag {tag}")
                stack.append(_Frame(is_map, event.anchor))
                continue
            elif cls is MappingEndEvent or cls is SequenceEndEvent:
                frame = stack.pop()
                value = self.finished(frame) if frame.is_map else frame.value
                size = frame.size
                height = frame.height
                if frame.anchor is not None:
                    anchors[frame.anchor] = (value, size, height)
            elif cls is AliasEvent:
                found = anchors.get(event.anchor)
                if found is None:
                    raise self.fail(
                        event.start_mark,
                        f"invalid YAML: unknown alias *{event.anchor} (an alias follows its"
                        f" complete &{event.anchor})",
                    )
                value, size, height = found
                if len(stack) + height > MAX_DEPTH:
                    raise self.fail(
                        event.start_mark,
                        f"alias *{event.anchor} nests the document more than {MAX_DEPTH} levels"
                        " deep: no compose file needs that",
                    )
                self.aliased += size
                if self.aliased > MAX_ALIAS_VALUES:
                    raise self.fail(
                        event.start_mark,
                        f"aliases expand to over {MAX_ALIAS_VALUES:,} values (*{event.anchor}"
                        f" alone is {size:,}): refusing to expand a YAML alias bomb",
                    )
            else:
                raise self.fail(event.start_mark, f"invalid YAML: unexpected {cls.__name__}")
            if not stack:
                return "<<" if value is MERGE else value
            parent = stack[-1]
            parent.size += size
            if height >= parent.height:
                parent.height = height + 1
            if not parent.is_map:
                parent.value.append("<<" if value is MERGE else value)
            elif parent.key is _MISSING:
                # A key is a scalar or an alias: a container as a key failed as it opened.
                parent.key = self.key(value, event.start_mark)
                parent.key_mark = event.start_mark
            else:
                self.put(parent, "<<" if value is MERGE else value)
                parent.key = _MISSING

    def key(self, value: object, mark: Any) -> object:
        if isinstance(value, (dict, list)):
            raise self.fail(mark, "a mapping key must be a string, not a mapping or list")
        if isinstance(value, (bool, int, float)):
            return go_text(value)
        return value  # a string, null or the merge key

    def put(self, frame: _Frame, value: object) -> None:
        key = frame.key
        if key is MERGE:
            sources: list[Any] = value if isinstance(value, list) else [value]
            if not all(isinstance(source, dict) for source in sources):
                raise self.fail(
                    frame.key_mark, "invalid YAML: a merge (<<) takes a mapping or a list of them"
                )
            # Of several sources, the first wins: apply them last to first.
            frame.merges.extend(reversed(sources))
            return
        if key in frame.explicit:
            raise self.fail(
                frame.key_mark,
                f"invalid YAML: duplicate key {json.dumps(key, ensure_ascii=False)}",
            )
        frame.explicit[key] = value

    @staticmethod
    def finished(frame: _Frame) -> dict[Any, Any]:
        if not frame.merges:
            return frame.explicit
        merged: dict[Any, Any] = {}
        for source in frame.merges:
            merged.update(source)
        merged.update(frame.explicit)
        return merged

    def scalar(self, event: Any) -> object:
        text: str = event.value
        tag = event.tag
        if tag is None:
            if event.implicit[0]:
                return resolve_plain(text) if text else None
            return text
        if tag == "!" or tag == _STR:
            return text
        wanted = _RESOLVED_TAGS.get(tag)
        if wanted is None:
            raise self.fail(event.start_mark, f"invalid YAML: unsupported tag {tag}")
        value = resolve_plain(text) if text else None
        if type(value) is not wanted and not (wanted is float and type(value) is int):
            raise self.fail(
                event.start_mark,
                f"invalid YAML: {json.dumps(text, ensure_ascii=False)} is not a valid {tag}",
            )
        return float(value) if wanted is float else value  # type: ignore[arg-type]
