"""Finding the control plane: the stack's CloudFormation outputs, in a region and profile as the AWS CLI takes them,
at AWS or at another endpoint (the served local cloud)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
)

from controlplane.adapters.ledger import DynamoDbLedger

_CHECKOUT = Path(__file__).resolve().parent.parent
LOCAL_REGION = "us-east-1"
"""The served local cloud's region: the default when --endpoint-url is given and no region is configured."""


class OperatorError(Exception):
    """Something the operator can fix; the message says what. The CLI prints it, without a traceback."""


def describe_aws_error(error: Exception, endpoint_url: str | None = None) -> str:
    """One sentence for an AWS error, naming the fix where there is a usual one."""
    if isinstance(error, NoCredentialsError):
        return "no AWS credentials: configure a profile (aws configure), pass --profile, or export AWS_ACCESS_KEY_ID"
    if isinstance(error, EndpointConnectionError):
        where = endpoint_url or "AWS"
        return f"cannot reach {where} ({error}); for the local cloud, start it with `make up`"
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'Error')}: {details.get('Message', error)}"
    return str(error)


def samconfig_stack_name(config_env: str = "default", start: Path | None = None) -> str | None:
    """The stack_name of samconfig.toml's `config_env` (the nearest samconfig.toml up from `start`, else the
    checkout's), as `sam deploy` would use it."""
    directory = (start or Path.cwd()).resolve()
    candidates = [parent / "samconfig.toml" for parent in (directory, *directory.parents)]
    for path in [*candidates, _CHECKOUT / "samconfig.toml"]:
        if path.is_file():
            try:
                document = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError):
                return None
            environment = document.get(config_env, {})
            for command in ("global", "deploy"):
                name = environment.get(command, {}).get("parameters", {}).get("stack_name")
                if name:
                    return str(name)
            return None
    return None


def _is_loopback(endpoint_url: str) -> bool:
    return urlparse(endpoint_url).hostname in {"localhost", "127.0.0.1", "::1"}


@dataclass
class Connection:
    """A session on one region and endpoint, and the stack's outputs."""

    session: boto3.Session
    stack: str
    outputs: dict[str, str]
    endpoint_url: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, endpoint_url=self.endpoint_url)  # type: ignore[call-overload]
        return self._clients[service]

    def output(self, key: str) -> str:
        if key not in self.outputs:
            raise OperatorError(
                f"stack '{self.stack}' has no output {key} (it has {', '.join(sorted(self.outputs)) or 'none'}); "
                "deploy the current template.yaml (sam deploy) or pass the right --stack"
            )
        return self.outputs[key]

    @cached_property
    def ledger(self) -> DynamoDbLedger:
        return DynamoDbLedger(self.output("LedgerTableName"), self.client("dynamodb"))


def connect(stack: str | None, region: str | None, profile: str | None, endpoint_url: str | None) -> Connection:
    """Open a session and read the stack's outputs; every failure becomes an OperatorError saying what to fix."""
    if not stack:
        raise OperatorError(
            "no stack: pass --stack NAME (or set MLOPS_STACK), or run from a checkout with samconfig.toml"
        )
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound:
        raise OperatorError(
            f"AWS profile '{profile}' not found: pass an existing --profile (aws configure list-profiles)"
        ) from None
    configured_region: str | None = session.region_name  # None when nothing configures one (the stubs say str)
    if configured_region is None:
        if not endpoint_url:
            raise OperatorError("no AWS region: pass --region, set AWS_REGION, or configure your profile's region")
        session = boto3.Session(profile_name=profile, region_name=LOCAL_REGION)
    if endpoint_url and _is_loopback(endpoint_url) and session.get_credentials() is None:
        # The local cloud accepts any credentials; AWS would need real ones, so only a loopback endpoint gets these.
        session = boto3.Session(
            region_name=session.region_name, aws_access_key_id="local", aws_secret_access_key="local"
        )
    connection = Connection(session, stack, {}, endpoint_url)
    try:
        described = connection.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ValidationError":  # CloudFormation's "does not exist"
            where = f" at {endpoint_url}" if endpoint_url else ""
            raise OperatorError(
                f"stack '{stack}' not found in {session.region_name}{where} ({describe_aws_error(error)}): "
                "pass --stack NAME, --region or "
                "--profile (the served local cloud's stack is mlops-local, in us-east-1)"
            ) from None
        raise OperatorError(f"cannot read stack '{stack}': {describe_aws_error(error, endpoint_url)}") from None
    except (BotoCoreError, NoRegionError) as error:
        raise OperatorError(f"cannot read stack '{stack}': {describe_aws_error(error, endpoint_url)}") from None
    connection.outputs = {output["OutputKey"]: output["OutputValue"] for output in described.get("Outputs", [])}
    return connection
