"""Run cfn-lint's ASL schema rule on every statemachines/*.asl.json.

cfn-lint checks ASL only inside plain AWS::StepFunctions::StateMachine resources, not inside SAM's
AWS::Serverless::StateMachine, so each definition is wrapped in a synthetic template for the check.
"""

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

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


def main() -> int:
    definitions = sorted((ROOT / "statemachines").glob("*.asl.json"))
    if not definitions:
        print("no statemachines/*.asl.json found", file=sys.stderr)
        return 1
    failed = False
    with tempfile.TemporaryDirectory() as workdir:
        for definition in definitions:
            wrapped = Path(workdir) / f"{definition.stem}.template.json"
            wrapped.write_text(json.dumps(wrap(definition)), encoding="utf-8")
            result = subprocess.run(
                [str(Path(sys.executable).with_name("cfn-lint")), str(wrapped)],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                failed = True
                print(f"{definition.relative_to(ROOT)}:\n{result.stdout}{result.stderr}", file=sys.stderr)
    print(f"cfn-lint ASL schema: {len(definitions)} definition(s) {'FAILED' if failed else 'ok'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
