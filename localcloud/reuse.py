"""What every local cloud of a process would build again, identically, built once: the local cloud's speed.

Each is derived from an input that does not change (a definition's text, a service model, a JSONPath) or holds no
state of a cloud (a client only sends requests to the process-wide moto backends), so no cloud sees another's
state through it:

- ASL parse trees and the evaluation components built from them, keyed on the definition's text. moto parses a
  definition with ANTLR when the state machine is created and again at every execution start, then builds its
  evaluation components (tens of milliseconds per execution). The components hold no state of an execution:
  each execution's state lives in its own `Environment`, which keys per-state values by each component's
  `heap_key`. That key is drawn lazily at random, so it is drawn here once for every component before the
  components are shared, and concurrent executions never draw two for one component.
- botocore's data loader (service models, endpoint rules): moto gives every `mock_aws` a new default boto3
  session, whose new loader reads and decodes each service's JSON model again.
- boto3 clients: building one costs tens of milliseconds (mostly copying the session's event hooks). The local
  cloud's own clients, and Step Functions' SDK clients (moto builds one for every Task it runs), serve every cloud of
  the process: each cloud talks to the same process-wide moto backends with the same credentials, and boto3 clients
  are thread-safe.
- JSONPath expressions: moto parses a state's paths (`InputPath`, `Parameters` fields, `ResultPath`, ...) with
  jsonpath-ng at every evaluation; a parsed expression is only read when applied.
- The RSA key SNS signs its messages with: moto generates a 2048-bit key per subscription; one per process signs
  as well (each message still gets its own certificate).
- A definition's validation: moto builds every evaluation component of a definition to validate it when its state
  machine is created, and throws them away; a definition once valid is valid again.
- The attribute names moto's response serializer tries for each member of a response: it asks six alias providers
  for every member of every structure it serializes (most of a GetExecutionHistory's CPU); their answer depends
  only on the member, its shape and its parent shape, and the type of the object read, never on a value.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import jsonpath_ng
import jsonpath_ng.ext
from botocore.model import Shape
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.core.models import botocore_stubber
from moto.core.serialize import AttributePickerContext, XFormedAttributePicker
from moto.sns.models import Subscription
from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.component.component import Component
from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
from moto.stepfunctions.parser.asl.parse import asl_parser
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.asl.utils import boto_client, json_path
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

from localcloud.core import ExtensionRegistry

__all__ = ["client", "install", "use_shared_loader"]


def install(registry: ExtensionRegistry) -> None:
    """Parse each ASL definition and JSONPath, build each Step Functions SDK client and SNS's signing key, once per
    process (undone, as the emulations are, by `registry.uninstall()`; the caches stay)."""
    _reuse_asl_parse_trees(registry)
    registry.replace(StepFunctionsParserBackend, "_validate_definition", staticmethod(_validate_definition))
    _reuse_sdk_clients(registry)
    registry.replace(XFormedAttributePicker, "get_possible_keys", _possible_keys)
    registry.replace(json_path, "parse", _parse_extended_json_path)
    registry.replace(result_path, "parse", _parse_json_path)
    registry.replace(Subscription, "private_key", lambda _subscription: _sns_signing_key())


@functools.cache
def client(service: str, region: str) -> Any:
    """The local clouds' client for the service (called only while a cloud runs, so it always reaches moto)."""
    return boto3.client(service, region_name=region)  # type: ignore[call-overload]


def use_shared_loader() -> None:
    """Make boto3's default session (moto resets it when a mock starts) read service models through the process's
    loader; the mock puts the previous default session back when it stops."""
    session = botocore.session.get_session()
    session.register_component("data_loader", _loader())
    boto3.setup_default_session(botocore_session=session)
    search_paths = _loader().search_paths  # boto3 adds its own data path to the loader of each of its sessions
    search_paths[:] = list(dict.fromkeys(search_paths))


_parse_extended_json_path = functools.cache(jsonpath_ng.ext.parse)
_parse_json_path = functools.cache(jsonpath_ng.parse)


@functools.cache
def _sns_signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def _loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


_parse_with_antlr = asl_parser.AmazonStateLanguageParser.parse  # moto's own, read before any cloud replaces it


@functools.cache
def _parse_tree(definition: str) -> Any:
    """The ANTLR tree of a valid definition (an invalid one raises, and is not cached)."""
    _, tree = _parse_with_antlr(definition)
    return tree


@functools.cache
def _program(definition: str) -> Any:
    """The evaluation components of a valid definition, every heap key drawn."""
    program = Preprocessor().visit(_parse_tree(definition))
    _draw_heap_keys(program)
    return program


def _draw_heap_keys(root: Any) -> None:
    seen: set[int] = set()
    pending = [root]
    while pending:
        value = pending.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, list | tuple | set | frozenset):
            pending.extend(value)
        elif isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, Component):
            if isinstance(value, EvalComponent):
                _ = value.heap_key
            pending.extend(vars(value).values())


def _reuse_asl_parse_trees(registry: ExtensionRegistry) -> None:
    def parse(definition: str) -> tuple[Any, Any]:
        return _program(definition), _parse_tree(definition)

    registry.replace(asl_parser.AmazonStateLanguageParser, "parse", staticmethod(parse))


_moto_validate_definition = StepFunctionsParserBackend._validate_definition


@functools.cache
def _validate_definition(definition: str) -> None:
    """moto's validation, once per definition (an invalid one raises InvalidDefinition, and is not cached)."""
    _moto_validate_definition(definition)


_moto_possible_keys = XFormedAttributePicker.get_possible_keys


def _possible_keys(picker: XFormedAttributePicker, context: AttributePickerContext) -> Any:
    """moto's answer, remembered by what its alias providers read: the object's type (an object with `Meta` aliases
    of its own is asked every time), the key, the member's shape and the structure it is a member of."""
    if hasattr(context.obj, "Meta"):
        return _moto_possible_keys(picker, context)
    shape: Shape | None = context.shape
    parent = getattr(shape, "parent", None)
    member = _Member(
        (
            tuple(picker.alias_providers),
            type(context.obj),
            context.key,
            context.service_model.service_name if context.service_model else None,
            None if shape is None else (shape.name, shape.type_name, shape.serialization.get("name")),
            None if parent is None else (parent.name, parent.type_name),
        ),
        picker,
        context,
    )
    return _remembered_possible_keys(member)


@dataclasses.dataclass(frozen=True)
class _Member:
    """A serialized member, compared and hashed by its signature only; the picker and context answer it once."""

    signature: tuple[Any, ...]
    picker: XFormedAttributePicker = dataclasses.field(compare=False)
    context: AttributePickerContext = dataclasses.field(compare=False)


@functools.cache
def _remembered_possible_keys(member: _Member) -> tuple[str, ...]:
    return tuple(_moto_possible_keys(member.picker, member.context))


_moto_sdk_client = boto_client.boto_client_for


def _reuse_sdk_clients(registry: ExtensionRegistry) -> None:
    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        return _sdk_client(region, service, botocore_stubber.enabled)  # moto ignores state_credentials

    # Each Task module imported moto's function by name: replace it where it is.
    for name, module in list(sys.modules.items()):
        if name.startswith("moto.stepfunctions.parser.") and vars(module).get("boto_client_for") is _moto_sdk_client:
            registry.replace(module, "boto_client_for", boto_client_for)


@functools.cache
def _sdk_client(region: str, service: str, _through_moto: bool) -> Any:
    return _moto_sdk_client(region, service)
