"""What every local cloud of a process would build again, identically, built once: the local cloud's speed.

Each is derived from an input that does not change (a definition's text, a service model, a JSONPath) or holds no
state of a cloud (a client only sends requests to the process-wide moto backends), so no cloud sees another's
state through it:

- ASL parse trees, keyed on the definition's text. moto parses a definition with ANTLR when the state machine is
  created and again at every execution start (most of a cloud's start-up CPU); the tree is read, never changed,
  by the preprocessor that builds each execution's own evaluation components, which are still built afresh.
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
"""

from __future__ import annotations

import functools
import sys
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import jsonpath_ng
import jsonpath_ng.ext
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.core.models import botocore_stubber
from moto.sns.models import Subscription
from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.parse import asl_parser
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.asl.utils import boto_client, json_path

from localcloud.core import ExtensionRegistry

__all__ = ["client", "install", "use_shared_loader"]


def install(registry: ExtensionRegistry) -> None:
    """Parse each ASL definition and JSONPath, build each Step Functions SDK client and SNS's signing key, once per
    process (undone, as the emulations are, by `registry.uninstall()`; the caches stay)."""
    _reuse_asl_parse_trees(registry)
    _reuse_sdk_clients(registry)
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


def _reuse_asl_parse_trees(registry: ExtensionRegistry) -> None:
    def parse(definition: str) -> tuple[Any, Any]:
        tree = _parse_tree(definition)
        return Preprocessor().visit(tree), tree

    registry.replace(asl_parser.AmazonStateLanguageParser, "parse", staticmethod(parse))


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
