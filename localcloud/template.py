"""Read template.yaml as the local cloud needs it: CloudFormation short tags, conditions and the intrinsic
functions the template uses (Ref, Fn::Sub, Fn::GetAtt, Fn::If, Fn::Equals, Fn::Not, Fn::Join, Fn::Split,
Fn::Select)."""

import copy
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_SHORT_TAGS = {
    "!Ref": "Ref",
    "!Condition": "Condition",
    **{f"!{name}": f"Fn::{name}" for name in ("Sub", "If", "Equals", "Not", "And", "Or", "Join", "Select", "Split")},
    "!GetAtt": "Fn::GetAtt",
    "!FindInMap": "Fn::FindInMap",
    "!Base64": "Fn::Base64",
}


class _TemplateLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's loader where PyYAML has it: eight times faster on the template, read by every local cloud."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = _SHORT_TAGS[tag_suffix]
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if name == "Fn::GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


for _tag in _SHORT_TAGS:
    _TemplateLoader.add_constructor(_tag, lambda loader, node, tag=_tag: _construct_tag(loader, tag, node))


class TemplateError(Exception):
    """The template uses something the local cloud does not emulate; the message says what."""


def load_template(path: Path) -> dict[str, Any]:
    """The template as a dict of its own (every local cloud reads it: the file is parsed once while it is unchanged)."""
    status = path.stat()
    return copy.deepcopy(_parse_template(path.resolve(), status.st_mtime_ns, status.st_size))


@functools.lru_cache(maxsize=8)
def _parse_template(path: Path, _mtime_ns: int, _size: int) -> dict[str, Any]:
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=_TemplateLoader)
    if not isinstance(document, dict) or "Resources" not in document:
        raise TemplateError(f"{path}: not a CloudFormation/SAM template (no Resources)")
    return document


def parameter_values(template: dict[str, Any], overrides: dict[str, Any], pseudo: dict[str, str]) -> dict[str, Any]:
    """Each parameter's override or default as CloudFormation passes it (a list for list types), plus `pseudo`."""
    values: dict[str, Any] = {}
    for name, spec in template.get("Parameters", {}).items():
        value = str(overrides.get(name, spec.get("Default", "")))
        is_list = spec.get("Type") == "CommaDelimitedList" or str(spec.get("Type", "")).startswith("List<")
        values[name] = value.split(",") if is_list else value
    return values | pseudo


@dataclass
class Resolver:
    """Evaluates intrinsic functions against parameters, pseudo parameters and emulated resources."""

    parameters: dict[str, Any]
    conditions: dict[str, Any]
    ref: Callable[[str], Any]
    get_att: Callable[[str, str], Any]
    _condition_values: dict[str, bool] = field(default_factory=dict)

    def condition(self, name: str) -> bool:
        if name not in self._condition_values:
            if name not in self.conditions:
                raise TemplateError(f"Condition '{name}' is not defined in the template")
            self._condition_values[name] = bool(self.resolve(self.conditions[name]))
        return self._condition_values[name]

    def resolve(self, value: Any) -> Any:  # noqa: PLR0912 - one branch per intrinsic
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {key: self.resolve(item) for key, item in value.items()}
        ((name, argument),) = value.items()
        match name:
            case "Ref":
                return self.parameters[argument] if argument in self.parameters else self.ref(argument)
            case "Fn::GetAtt":
                logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self.get_att(logical_id, attribute)
            case "Fn::Sub":
                return self._sub(argument)
            case "Fn::If":
                condition, when_true, when_false = argument
                return self.resolve(when_true if self.condition(condition) else when_false)
            case "Fn::Equals":
                left, right = self.resolve(argument)
                return left == right
            case "Fn::Not":
                return not self.resolve(argument[0])
            case "Fn::And":
                return all(self.resolve(argument))
            case "Fn::Or":
                return any(self.resolve(argument))
            case "Condition":
                return self.condition(argument)
            case "Fn::Join":
                delimiter, items = argument
                return delimiter.join(str(item) for item in self.resolve(items))
            case "Fn::Split":
                delimiter, source = argument
                return str(self.resolve(source)).split(delimiter)
            case "Fn::Select":
                index, items = argument
                return self.resolve(items)[int(self.resolve(index))]
            case _ if name.startswith("Fn::"):
                raise TemplateError(f"The local cloud does not emulate {name}; extend localcloud/template.py")
        return {name: self.resolve(argument)}

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        variables = {key: self.resolve(item) for key, item in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and name.split(".", 1)[0] not in self.parameters:
                logical_id, attribute = name.split(".", 1)
                return str(self.get_att(logical_id, attribute))
            return str(self.resolve({"Ref": name}))

        return re.sub(r"\$\{([^}!]+)\}", replace, text)


def substitute_definition(definition: str, substitutions: dict[str, Any]) -> str:
    """SAM's DefinitionSubstitutions: replace ${Name} for the given names only; fail on any left over."""
    result = re.sub(
        r"\$\{([A-Za-z0-9]+)\}", lambda match: str(substitutions.get(match.group(1), match.group(0))), definition
    )
    leftover = sorted(set(re.findall(r"\$\{([A-Za-z0-9]+)\}", result)))
    if leftover:
        raise TemplateError(f"DefinitionSubstitutions lack {leftover}; add them to the state machine in template.yaml")
    return result
