"""Translate template.yaml (SAM) into plain CloudFormation offline, as `sam deploy` would, for scanners.

checkov understands only part of SAM; on the translated template it also sees the generated IAM roles,
the state machines and the event source mappings. Local paths become placeholder S3 locations (no upload
happens) and each DefinitionUri becomes an inline Definition, because the translator needs both.
Usage: translate_template.py [TEMPLATE] --output FILE
"""

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any
from unittest import mock

from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform

ROOT = Path(__file__).resolve().parent.parent
# Only where the artifacts would be uploaded; the scanners never read them.
PLACEHOLDER_ARTIFACT_BUCKET = "translated-template-artifacts"


class _NoManagedPolicies:
    """The translator's managed-policy loader: no function's Policies name an AWS managed policy."""

    def load(self) -> dict[str, str]:
        return {}


def _inline_local_artifacts(template: dict[str, Any], base: Path) -> dict[str, Any]:
    for logical_id, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
                properties[key] = f"s3://{PLACEHOLDER_ARTIFACT_BUCKET}/{logical_id}.zip"
        if isinstance(properties.get("DefinitionUri"), str):
            properties["Definition"] = json.loads((base / properties.pop("DefinitionUri")).read_text(encoding="utf-8"))
    return template


def translate(template_path: Path) -> dict[str, Any]:
    source = _inline_local_artifacts(yaml_parse(template_path.read_text(encoding="utf-8")), template_path.parent)
    # The translator needs a region; the ARNs it writes stay symbolic (${AWS::Region}).
    region = {"AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    with mock.patch.dict(os.environ, region):
        # Metadata is kept, so checkov's reasoned skips apply to the output too (tests/unit/test_template_security.py).
        return transform(source, {}, _NoManagedPolicies())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("template", nargs="?", type=Path, default=ROOT / "template.yaml")
    parser.add_argument("--output", type=Path, required=True, help="where to write the CloudFormation JSON")
    arguments = parser.parse_args(argv)
    arguments.output.write_text(json.dumps(translate(arguments.template), indent=1), encoding="utf-8")
    print(f"translated {arguments.template.name} -> {arguments.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
