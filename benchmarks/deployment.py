"""What a deployment costs, in the units AWS bills and that must not grow with SageMaker's bake time:
state transitions (Standard workflows: $25 per million) and Lambda invocations.

`python -m benchmarks.deployment` runs, in the local cloud, a canary deployment of a second version while
SageMaker bakes 60 s and while it bakes 3,600 s (1 vs 60 units of time), and a deployment that SageMaker
rolls back; it prints one JSON object. The only check is about correctness: the canary counts must be equal.
"""

import json
import logging
import sys
from typing import Any

from controlplane.config import load_config
from localcloud.cloud import LocalCloud
from localcloud.scenarios import register_model_package, set_approval

STATE_MACHINE = "DeployStateMachine"


def _costs(cloud: LocalCloud, execution_name: str, since: int) -> dict[str, Any]:
    sfn = cloud.client("stepfunctions")
    arn = cloud.state_machine_arn(STATE_MACHINE).replace(":stateMachine:", ":execution:") + f":{execution_name}"
    history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    status = sfn.describe_execution(executionArn=arn)["status"]
    lambdas = [entry for entry in cloud.timeline[since:] if entry.kind == "lambda"]
    return {
        "status": status,
        "state_transitions": sum(1 for event in history if event["type"].endswith("StateEntered")),
        "lambda_invocations": len(lambdas),
        "lambda_invocations_by_function": {
            name: sum(1 for entry in lambdas if entry.data["function"] == name)
            for name in sorted({entry.data["function"] for entry in lambdas})
        },
    }


def _deploy(cloud: LocalCloud, auc: float, outcome: str, bake_seconds: float) -> dict[str, Any]:
    cloud.extensions.endpoints.set_endpoint_defaults(creation_seconds=300, bake_seconds=bake_seconds)
    cloud.extensions.endpoints.set_endpoint_outcome("churn-staging", outcome)  # type: ignore[arg-type]
    package = register_model_package(cloud, auc)
    cloud.settle()
    since = len(cloud.timeline)
    set_approval(cloud, package)
    cloud.settle()
    # The approval's deployment: its name carries the approval's time, so read it from what ran.
    [execution_name] = {
        entry.data["execution"]
        for entry in cloud.timeline[since:]
        if entry.kind == "execution" and entry.text.startswith(f"{STATE_MACHINE} execution deploy-staging-")
    }
    return _costs(cloud, execution_name, since)


def measure(bake_seconds: float, outcome: str) -> dict[str, Any]:
    """Version 1 is created on a fresh endpoint; version 2 is the measured blue/green canary update."""
    with LocalCloud() as cloud:
        cloud.seed(load_config())
        _deploy(cloud, 0.90, "succeed", bake_seconds)
        result = _deploy(cloud, 0.91, outcome, bake_seconds)
    return {"bake_seconds": bake_seconds, "outcome": outcome, **result}


def main() -> int:
    logging.getLogger("moto").setLevel(logging.CRITICAL)  # moto logs every Fail state; the result says enough
    short, long = measure(60, "succeed"), measure(3600, "succeed")
    rollback = measure(600, "rollback")
    same = (short["state_transitions"], short["lambda_invocations"]) == (
        long["state_transitions"],
        long["lambda_invocations"],
    )
    print(json.dumps({"canary_bake_60s": short, "canary_bake_3600s": long, "rolled_back": rollback, "equal": same}))
    return 0 if same and short["status"] == long["status"] == "SUCCEEDED" else 1


if __name__ == "__main__":
    sys.exit(main())
