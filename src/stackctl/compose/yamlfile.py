"""compose.yaml read the way compose reads it (go-yaml v3, YAML 1.2), not PyYAML's YAML 1.1 way.

With YAML 1.1, `- 8080:80` is the base-60 integer 484880 and `restart: no` is False; a duplicated
key silently wins. Here both are strings, as in compose, and a duplicated key is an error.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, ScalarNode

from stackctl.errors import ComposeError

_YAML_1_1_ONLY = {
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:timestamp",
}


class _ComposeLoader(yaml.SafeLoader):
    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, ScalarNode):
                continue
            if key_node.value in seen:
                raise ConstructorError(
                    None, None, f"duplicate key {json.dumps(key_node.value)}", key_node.start_mark
                )
            seen.add(key_node.value)
        mapping = super().construct_mapping(node, deep=deep)
        return {_key_text(key): value for key, value in mapping.items()}

    def construct_yaml12_int(self, node: ScalarNode) -> int:
        text = str(self.construct_scalar(node))
        if text.startswith("0o"):
            return int(text[2:], 8)
        if text.startswith("0x"):
            return int(text[2:], 16)
        return int(text, 10)


def _key_text(key: object) -> object:
    if isinstance(key, bool):
        return str(key).lower()
    if isinstance(key, (int, float)):
        return str(key)
    return key


_ComposeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _YAML_1_1_ONLY]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ComposeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_ComposeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
_ComposeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$"
    ),
    list("-+.0123456789"),
)
_ComposeLoader.add_constructor("tag:yaml.org,2002:int", _ComposeLoader.construct_yaml12_int)


def load_yaml(text: str, shown_as: str) -> object:
    """The document in `text`; a syntax error is a ComposeError with its line and column."""
    try:
        return yaml.load(text, Loader=_ComposeLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = " ".join(str(exc.problem or exc.context or "syntax error").split())
        raise ComposeError(f"{shown_as}: {where}invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise ComposeError(f"{shown_as}: invalid YAML: {' '.join(str(exc).split())}") from None
