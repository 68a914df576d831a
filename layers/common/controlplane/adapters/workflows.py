"""Step Functions: start workflows under deterministic names and resume waiting tasks."""

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from controlplane.adapters.clients import LazyClient
from controlplane.ports import StartResult

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

# A task token that was already used, or whose task timed out, is answered with one of these.
_STALE_TOKEN_ERRORS = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})


class StepFunctionsWorkflows:
    _sfn = LazyClient["SFNClient"]("stepfunctions")

    def __init__(
        self,
        retrain_state_machine_arn: str | None = None,
        deploy_state_machine_arn: str | None = None,
        client: "SFNClient | None" = None,
        drift_state_machine_arn: str | None = None,
    ):
        self._retrain_arn = retrain_state_machine_arn
        self._deploy_arn = deploy_state_machine_arn
        self._drift_arn = drift_state_machine_arn
        self._sfn = client

    def start_retrain(self, name: str, request: dict[str, Any]) -> StartResult:
        return self.start("retrain", name, request)

    def start_deploy(self, name: str, request: dict[str, Any]) -> StartResult:
        return self.start("deploy", name, request)

    def _state_machine_arn(self, workflow: str) -> str:
        arns = {"retrain": self._retrain_arn, "deploy": self._deploy_arn, "drift": self._drift_arn}
        if workflow not in arns:
            raise ValueError(f"Unknown workflow {workflow!r}; expected one of {sorted(arns)}")
        state_machine_arn = arns[workflow]
        if state_machine_arn is None:
            raise RuntimeError(f"StepFunctionsWorkflows needs the {workflow} state machine ARN to start executions")
        return state_machine_arn

    def execution_arn(self, workflow: str, name: str) -> str:
        # arn:<partition>:states:<region>:<account>:stateMachine:<machine> -> ...:execution:<machine>:<name>
        return f"{self._state_machine_arn(workflow).replace(':stateMachine:', ':execution:', 1)}:{name}"

    def start(self, workflow: str, name: str, request: dict[str, Any]) -> StartResult:
        state_machine_arn = self._state_machine_arn(workflow)
        try:
            response = self._sfn.start_execution(
                stateMachineArn=state_machine_arn, name=name, input=json.dumps(request, sort_keys=True)
            )
        except ClientError as error:
            # Same name, finished or with other input: that work already had its run (names live 90 days).
            if error.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
                return StartResult("already_started", self.execution_arn(workflow, name))
            raise
        return StartResult("started", response["executionArn"])

    def resume(self, task_token: str, output: dict[str, Any]) -> bool:
        try:
            self._sfn.send_task_success(taskToken=task_token, output=json.dumps(output))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _STALE_TOKEN_ERRORS:
                return False
            raise
        return True
