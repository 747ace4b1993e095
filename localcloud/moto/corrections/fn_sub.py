"""fn-sub: `Fn::Sub` substitutes `${...}` variables and nothing else, byte for byte as
CloudFormation does, so a state machine definition keeps its `$$` (the context object) and its
JSONata expressions (`$states.input`, `$count(...)`).

moto's clean_json (moto/cloudformation/parsing.py) resolves the list form `[string, {Var: value}]`
with Python's string.Template, which also rewrites `$$` to `$` and `$name` (no braces) to the
mapping's value of that name. CloudFormation's documentation of Fn::Sub knows only `${Var}` (a
mapping key, a parameter or resource (Ref), `Resource.Attribute` (GetAtt), or a pseudo parameter)
and `${!Literal}`, which stands for the text `${Literal}`. This replaces the `Fn::Sub` case of
clean_json with exactly that; every other node goes to moto's own clean_json, which recurses
through the module's global name and so reaches this one for nested nodes too.
"""

from __future__ import annotations

import re
from typing import Any

from moto.cloudformation import parsing

_original_clean_json = parsing.clean_json

# `${...}` up to the first closing brace; a `!` right after `${` marks a literal.
_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def substitute(template: str, resolve: Any) -> str:
    """`template` with each `${Name}` replaced by `resolve(Name)` (None leaves it as written) and
    each `${!Literal}` by `${Literal}`; every other character, `$` included, is kept."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        value = resolve(name)
        return match.group(0) if value is None else str(value)

    return _VARIABLE.sub(replace, template)


def _resolve(name: str, mapping: dict[str, Any], resources_map: Any) -> Any:
    if name in mapping:
        return parsing.clean_json(mapping[name], resources_map)
    # `Resource.Attribute` is Fn::GetAtt; a pseudo parameter (AWS::Region) holds no dot.
    node: dict[str, Any] = {"Fn::GetAtt": name.split(".", 1)} if "." in name else {"Ref": name}
    return parsing.clean_json(node, resources_map)


def _clean_json(resource_json: Any, resources_map: Any) -> Any:
    if isinstance(resource_json, dict) and "Fn::Sub" in resource_json:
        argument = resource_json["Fn::Sub"]
        mapping: dict[str, Any] = {}
        if isinstance(argument, list):
            argument, mapping = argument[0], dict(argument[1])
        template = parsing.clean_json(argument, resources_map)
        return substitute(str(template), lambda name: _resolve(name, mapping, resources_map))
    return _original_clean_json(resource_json, resources_map)


def apply() -> None:
    parsing.clean_json = _clean_json
