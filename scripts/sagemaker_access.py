"""What the template's IAM lets the control plane do in SageMaker, and whether that covers what the config names.

The template can only scope SageMaker permissions by name (parameter ManagedModelNames); the names come from
controlplane.yaml (pipelines, endpoints) and controlplane.naming (models, endpoint configs). This module
evaluates the IAM statements of the translated template (every role, however SAM generated it) and lists each
SageMaker call the config implies that no statement allows. scripts/check_config.py and tests use it.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controlplane.config import ControlPlaneConfig
from controlplane.naming import endpoint_config_name, sagemaker_model_name
from localcloud.template import Resolver, parameter_values
from scripts.translate_template import translate

TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "template.yaml"
# Any region and account do: the template holds no literal ones, so each stands for all.
REGION, ACCOUNT = "eu-west-3", "210987654321"
REQUEST_CONTEXT = {"aws:RequestedRegion": REGION, "aws:ResourceAccount": ACCOUNT}
MUTATING_VERBS = ("Create", "Update", "Delete", "Start", "Stop", "Add")
# The deploy code names models and endpoint configs after a package version; any package shows the pattern.
EXAMPLE_PACKAGE_VERSION = 12


@dataclass(frozen=True)
class Statement:
    role: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    condition: dict[str, Any]


@dataclass(frozen=True)
class Need:
    """One SageMaker call the control plane makes for the config: who, what, on which ARN, and why."""

    principal: str
    action: str
    arn: str
    reason: str


def iam_statements(template_path: Path = TEMPLATE_PATH, overrides: dict[str, str] | None = None) -> list[Statement]:
    """Every Allow statement of every IAM role in the translated template, intrinsic functions resolved."""
    translated = translate(template_path)
    pseudo = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws", "AWS::StackName": "stack"}
    resolver = Resolver(
        parameter_values(translated, overrides or {}, pseudo),
        translated.get("Conditions", {}),
        ref=lambda logical_id: f"<{logical_id}>",
        get_att=lambda logical_id, attribute: f"<{logical_id}.{attribute}>",
    )
    statements = []
    for role, resource in translated["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in _as_list(resolver.resolve(policy["PolicyDocument"]["Statement"])):
                if isinstance(statement, dict) and statement.get("Effect") == "Allow":
                    actions = tuple(_as_list(statement.get("Action", [])))
                    resources = tuple(_as_list(statement.get("Resource", [])))
                    statements.append(Statement(role, actions, resources, statement.get("Condition", {})))
    return statements


def needs(config: ControlPlaneConfig) -> Iterator[Need]:
    """The SageMaker calls each configured model leads to (see the deploy and retrain workflows)."""
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
    for model in config.models:
        pipeline = f"pipeline '{model.pipeline.name}' of model '{model.name}'"
        pipeline_arn = f"{arn}:pipeline/{model.pipeline.name}"
        yield Need("RetrainStateMachine", "sagemaker:StartPipelineExecution", pipeline_arn, pipeline)
        execution = f"{pipeline_arn}/execution/0a1b2c3d4e5f"
        yield Need("PipelineEventsFunction", "sagemaker:DescribePipelineExecution", execution, pipeline)
        package = f"{arn}:model-package/{model.model_package_group}/{EXAMPLE_PACKAGE_VERSION}"
        for stage in model.deployment.stages if model.deployment else ():
            endpoint = f"{arn}:endpoint/{stage.endpoint_name}"
            fleet = f"{stage.instance_type}:{stage.initial_instance_count}:{stage.variant_name}"
            config_name = endpoint_config_name(stage.endpoint_name, EXAMPLE_PACKAGE_VERSION, package, fleet)
            endpoint_config = f"{arn}:endpoint-config/{config_name}"
            sagemaker_model = f"{arn}:model/{sagemaker_model_name(model.name, EXAMPLE_PACKAGE_VERSION, package)}"
            reason = f"endpoint '{stage.endpoint_name}' (stage '{stage.name}' of model '{model.name}')"
            for action, target in (
                ("sagemaker:CreateModel", sagemaker_model),
                ("sagemaker:CreateEndpointConfig", endpoint_config),
                ("sagemaker:DescribeEndpoint", endpoint),
                ("sagemaker:InvokeEndpoint", endpoint),
            ):
                yield Need("DeployTasksFunction", action, target, reason)
            for action in ("sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint"):
                for target in (endpoint, endpoint_config):
                    yield Need("DeployStateMachine", action, target, reason)


def unmet_needs(config: ControlPlaneConfig, statements: list[Statement]) -> list[str]:
    """One line per SageMaker call the config implies that the template's IAM does not allow."""
    problems = []
    for need in needs(config):
        role = f"{need.principal}Role"
        # SageMaker may report a name lowercased in its ARN: allow both spellings or neither works for sure.
        spellings = {need.arn, need.arn.lower()}
        if not all(any(_allows(s, need.action, arn) for s in statements if s.role == role) for arn in spellings):
            problems.append(
                f"{need.reason}: {need.principal} may not {need.action} on {need.arn.split(':', 5)[5]}; "
                "name it '<model name>-...' or add its model to the template parameter ManagedModelNames"
            )
    return problems


def bare_wildcard_grants(statements: list[Statement]) -> list[str]:
    """Mutating SageMaker actions allowed on a whole resource type (`*`, `.../*`) rather than on names."""
    findings = []
    for statement in statements:
        mutating = [action for action in statement.actions if _is_mutating_sagemaker(action)]
        for resource in statement.resources if mutating else ():
            name_part = resource.split(":", 5)[5] if resource.count(":") >= 5 else resource
            if name_part == "*" or name_part.split("/", 1)[-1] == "*":
                findings.append(f"{statement.role}: {', '.join(mutating)} on {resource}")
    return findings


def _is_mutating_sagemaker(action: str) -> bool:
    service, _, verb = action.partition(":")
    if action == "*" or service.lower() != "sagemaker":
        return action == "*"
    return "*" in verb or verb.startswith(MUTATING_VERBS)


def _allows(statement: Statement, action: str, arn: str) -> bool:
    return (
        any(_matches(pattern, action, ignore_case=True) for pattern in statement.actions)
        and any(_matches(pattern, arn, ignore_case=False) for pattern in statement.resources)
        and _condition_holds(statement.condition)
    )


def _condition_holds(condition: dict[str, Any]) -> bool:
    for operator, tests in condition.items():
        if operator not in ("StringEquals", "StringEqualsIfExists"):
            raise ValueError(f"Condition operator {operator} is not evaluated here; extend scripts/sagemaker_access.py")
        for key, expected in tests.items():
            actual = REQUEST_CONTEXT.get(key)
            if actual is None and operator.endswith("IfExists"):
                continue
            if actual not in _as_list(expected):
                return False
    return True


def _matches(pattern: str, value: str, *, ignore_case: bool) -> bool:
    """IAM wildcards: `*` any run of characters, `?` one character."""
    regex = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
