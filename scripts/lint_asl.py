"""Check every statemachines/*.asl.json: cfn-lint's ASL schema rule, and the project's failure policy.

cfn-lint checks ASL only inside plain AWS::StepFunctions::StateMachine resources, not inside SAM's
AWS::Serverless::StateMachine, so each definition is wrapped in a synthetic template for the check.

The failure policy (README, Reliability): every Task state has a Catch; every Lambda task retries Lambda's
transient errors (timeouts included) and the project's `TransientError`; every retrier backs off with full jitter.
And the design rules that keep ASL and Python apart: a Choice is named as the question it asks (`Verified?`); a task
receives named fields, never the whole workflow state (`"state.$": "$"`), so it cannot depend on where the ASL put
things; and no error name is moto's spelling of an AWS one (`sagemaker.sagemakerException`), as the definition runs
unchanged on AWS.
"""

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


# Substitution values as CloudFormation would fill them in a deployment (any other name gets a sample name).
_SAMPLE_VALUES = {"Partition": "aws", "Region": "us-east-1", "AccountId": "123456789012"}


def wrap(definition_file: Path) -> dict[str, object]:
    text = re.sub(
        r"\$\{([A-Za-z0-9]+)\}",
        lambda match: _SAMPLE_VALUES.get(match.group(1), f"sample-{match.group(1).lower()}"),
        definition_file.read_text(encoding="utf-8"),
    )
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "StateMachine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": "arn:aws:iam::123456789012:role/lint",
                    "Definition": json.loads(text),
                },
            }
        },
    }


LAMBDA_TRANSIENT_ERRORS = frozenset(
    {
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
        "Lambda.ClientExecutionTimeoutException",
        "Lambda.Unknown",  # how Step Functions reports a function that timed out or ran out of memory
        "TransientError",
    }
)


def _invokes_lambda(state: dict[str, Any]) -> bool:
    resource = str(state.get("Resource", ""))
    return ":function:" in resource or ":::lambda:invoke" in resource


# moto names an unmodelled error of an aws-sdk task in lower case (`sagemaker.sagemakerException`); AWS does not.
_EMULATOR_ERROR_NAME = re.compile(r"^[a-z0-9]+\.[a-z0-9]+Exception$")


def _whole_state_fields(parameters: Any, where: str = "") -> list[str]:
    if not isinstance(parameters, dict):
        return []
    found = [f"{where}{key}" for key, value in parameters.items() if key.endswith(".$") and value == "$"]
    for key, value in parameters.items():
        found.extend(_whole_state_fields(value, f"{where}{key}."))
    return found


def design_problems(name: str, state: dict[str, Any]) -> list[str]:
    problems = []
    if state.get("Type") == "Choice" and not name.endswith("?"):
        problems.append(f"{name}: a Choice not named as the question it asks (end its name with '?')")
    for field in _whole_state_fields(state.get("Parameters")):
        problems.append(f"{name}: hands its task the whole workflow state ({field}); pass the fields it needs")
    for handler in [*state.get("Retry", []), *state.get("Catch", [])]:
        for error in handler.get("ErrorEquals", []):
            if _EMULATOR_ERROR_NAME.match(error):
                problems.append(f"{name}: error name {error} is moto's spelling, not AWS's")
    return problems


def failure_policy_problems(definition: dict[str, Any]) -> list[str]:
    """Where a definition breaks the failure policy or the design rules; empty when they hold (nested states
    included)."""
    problems: list[str] = []
    for name, state in definition.get("States", {}).items():
        for branch in [*state.get("Branches", []), *([state["Iterator"]] if "Iterator" in state else [])]:
            problems.extend(f"{name}/{problem}" for problem in failure_policy_problems(branch))
        problems.extend(design_problems(name, state))
        if state.get("Type") != "Task":
            continue
        if not state.get("Catch"):
            problems.append(f"{name}: a Task without a Catch")
        retriers = state.get("Retry", [])
        covered = {error for retrier in retriers for error in retrier.get("ErrorEquals", [])}
        if _invokes_lambda(state) and not covered >= LAMBDA_TRANSIENT_ERRORS:
            missing = ", ".join(sorted(LAMBDA_TRANSIENT_ERRORS - covered))
            problems.append(f"{name}: a Lambda task that does not retry {missing}")
        for retrier in retriers:
            if retrier.get("JitterStrategy") != "FULL" or float(retrier.get("BackoffRate", 2.0)) <= 1.0:
                problems.append(f"{name}: retrier {retrier.get('ErrorEquals')} lacks backoff with full jitter")
    return problems


def main() -> int:
    definitions = sorted((ROOT / "statemachines").glob("*.asl.json"))
    if not definitions:
        print("no statemachines/*.asl.json found", file=sys.stderr)
        return 1
    failed = False
    with tempfile.TemporaryDirectory() as workdir:
        wrapped = [Path(workdir) / f"{definition.stem}.template.json" for definition in definitions]
        for definition, template in zip(definitions, wrapped, strict=True):
            template.write_text(json.dumps(wrap(definition)), encoding="utf-8")
        # One cfn-lint run for every wrapped definition: its start-up costs more than the linting.
        result = subprocess.run(
            [str(Path(sys.executable).with_name("cfn-lint")), *map(str, wrapped)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            failed = True
            print(f"statemachines/ (wrapped as <name>.template.json):\n{result.stdout}{result.stderr}", file=sys.stderr)
    for definition in definitions:
        for problem in failure_policy_problems(json.loads(definition.read_text(encoding="utf-8"))):
            failed = True
            print(f"{definition.relative_to(ROOT)}: {problem}", file=sys.stderr)
    print(f"ASL schema and failure policy: {len(definitions)} definition(s) {'FAILED' if failed else 'ok'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
