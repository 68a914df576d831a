"""What `localcloud.reuse` builds once per process answers exactly as moto does when it builds it every time; what a
local cloud reads once (an ended execution's history) is what it would read again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.core.serialize import XFormedAttributePicker
from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent

from controlplane.config import load_config
from localcloud import reuse, scenarios
from localcloud.cloud import LocalCloud

ROOT = Path(__file__).resolve().parents[2]
VALID = '{"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}'
INVALID = '{"StartAt": "Missing", "States": {"Done": {"Type": "Nowhere"}}}'


def _responses(cloud: LocalCloud) -> dict[str, Any]:
    """Responses with many optional members, nested structures, lists, timestamps and moto model objects."""
    sfn, sagemaker, dynamodb = cloud.client("stepfunctions"), cloud.client("sagemaker"), cloud.client("dynamodb")
    responses: dict[str, Any] = {}
    for logical_id, arn in cloud.state_machines.items():
        executions = sfn.list_executions(stateMachineArn=arn)["executions"]
        responses[f"ListExecutions {logical_id}"] = executions
        responses[f"DescribeStateMachine {logical_id}"] = sfn.describe_state_machine(stateMachineArn=arn)
        for execution in executions:
            history = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)
            responses[f"GetExecutionHistory {execution['name']}"] = history["events"]
    for endpoint in sagemaker.list_endpoints()["Endpoints"]:
        responses[f"DescribeEndpoint {endpoint['EndpointName']}"] = sagemaker.describe_endpoint(
            EndpointName=endpoint["EndpointName"]
        )
    for package in sagemaker.list_model_packages(ModelPackageGroupName="churn-models")["ModelPackageSummaryList"]:
        responses[f"DescribeModelPackage {package['ModelPackageArn']}"] = sagemaker.describe_model_package(
            ModelPackageName=package["ModelPackageArn"]
        )
    responses["Scan ledger"] = dynamodb.scan(TableName=cloud.ledger_table)["Items"]
    for response in responses.values():
        if isinstance(response, dict):
            response.pop("ResponseMetadata", None)
    return responses


def test_remembered_member_names_serialize_every_response_as_moto_does(monkeypatch: pytest.MonkeyPatch) -> None:
    with LocalCloud() as cloud:
        cloud.seed(load_config())
        scenarios.deploy_new_version(cloud, 0.9)
        remembered = _responses(cloud)
        assert any(name.startswith("GetExecutionHistory deploy-") for name in remembered)
        assert XFormedAttributePicker.get_possible_keys is reuse._possible_keys  # the serializer used the cache

        monkeypatch.setattr(XFormedAttributePicker, "get_possible_keys", reuse._moto_possible_keys)
        assert _responses(cloud) == remembered


def test_a_valid_definition_is_validated_once_and_an_invalid_one_is_refused_every_time() -> None:
    with LocalCloud() as cloud:
        sfn = cloud.client("stepfunctions")
        role = "arn:aws:iam::123456789012:role/reuse-test"
        validated_before = reuse._validate_definition.cache_info().hits
        sfn.create_state_machine(name="reuse-valid-1", definition=VALID, roleArn=role)
        sfn.create_state_machine(name="reuse-valid-2", definition=VALID, roleArn=role)
        assert reuse._validate_definition.cache_info().hits >= validated_before + 1

        for attempt in range(2):
            with pytest.raises(ClientError) as refused:
                sfn.create_state_machine(name=f"reuse-invalid-{attempt}", definition=INVALID, roleArn=role)
            assert "ASLParserException" in refused.value.response["Error"]["Message"]  # moto's own refusal
        assert [
            machine["name"] for machine in sfn.list_state_machines()["stateMachines"] if "reuse-" in machine["name"]
        ] == [
            "reuse-valid-1",
            "reuse-valid-2",
        ]


def test_an_ended_execution_s_history_is_read_once_and_a_running_one_s_every_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with LocalCloud() as cloud:
        cloud.seed(load_config())
        scenarios.upload_dataset(cloud, "datasets/churn/2026-11-27/")
        cloud.settle(fire_timers=False)  # the training waits on its pipeline
        sfn = cloud.client("stepfunctions")
        (execution,) = sfn.list_executions(stateMachineArn=cloud.state_machine_arn(scenarios.RETRAIN))["executions"]
        reads: list[str] = []
        read = sfn.get_execution_history

        def counted(**arguments: Any) -> Any:
            reads.append(arguments["executionArn"])
            return read(**arguments)

        monkeypatch.setattr(sfn, "get_execution_history", counted)
        running = cloud.execution_history(execution["executionArn"])
        assert len(cloud.execution_history(execution["executionArn"])) == len(running)
        assert len(reads) == 2  # running: read every time

        cloud.settle()  # the pipeline ends, and so does the training
        ended = cloud.execution_history(execution["executionArn"])
        assert len(ended) > len(running)
        assert ended[-1]["type"] == "ExecutionSucceeded"
        assert cloud.execution_history(execution["executionArn"]) == ended
        assert len(reads) == 3  # ended: read once


def test_a_definition_s_components_are_built_once_with_every_heap_key_drawn_before_they_are_shared() -> None:
    definition = (ROOT / "statemachines" / "deploy.asl.json").read_text(encoding="utf-8")
    program = reuse._program(definition)
    assert reuse._program(definition) is program
    components: list[EvalComponent] = []
    pending: list[Any] = [program]
    seen: set[int] = set()
    while pending:
        value = pending.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, list | tuple | dict):
            pending.extend(value.values() if isinstance(value, dict) else value)
        elif hasattr(value, "__dict__") and type(value).__module__.startswith("moto.stepfunctions"):
            if isinstance(value, EvalComponent):
                components.append(value)
            pending.extend(vars(value).values())
    assert len(components) > 100  # the deploy workflow's states, paths, retriers, ...
    assert all(vars(component).get("_EvalComponent__heap_key") for component in components)
