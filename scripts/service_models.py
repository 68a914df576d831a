"""Write the trimmed botocore service models the layer ships (`--check`: fail if they are stale).

A SageMaker client's cold start loads and parses a service model of several MB and builds a method for each of
its hundreds of operations; the control plane calls a dozen. For each service in SERVICES this keeps, from the
pinned botocore's model, the operations whose Python name the shared package or a handler spells (an attribute,
as in `client.describe_endpoint`, or a string, as in `_call("get_item")`) and every shape they reach, without
documentation. `controlplane.adapters.clients` puts the directory first on botocore's search path, so every
test runs on them (README, Performance).
"""

import ast
import gzip
import json
import sys
from pathlib import Path
from typing import Any

import botocore
from botocore import xform_name

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "layers" / "common" / "controlplane" / "adapters" / "service_models"
SOURCES = (ROOT / "layers" / "common" / "controlplane", ROOT / "functions")
# Every service the control plane calls. SageMaker's and S3's models are the large ones (gzipped 384 and 185 KB);
# each of the others still costs a few ms to parse and a method per operation at a handler's first client.
SERVICES = ("cloudwatch", "dynamodb", "events", "s3", "sagemaker", "sagemaker-runtime", "sns", "stepfunctions")


def spelled_names() -> set[str]:
    """Every attribute name and string constant of the code that calls AWS."""
    names: set[str] = set()
    for source in SOURCES:
        for path in sorted(source.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Attribute):
                    names.add(node.attr)
                elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                    names.add(node.value)
    return names


def _latest_model(service: str) -> tuple[str, dict[str, Any]]:
    directory = Path(botocore.__file__).parent / "data" / service
    version = max(path.name for path in directory.iterdir() if (path / "service-2.json.gz").exists())
    with gzip.open(directory / version / "service-2.json.gz") as file:
        return version, json.load(file)


def _undocumented(shape: dict[str, Any]) -> dict[str, Any]:
    trimmed = {key: value for key, value in shape.items() if key != "documentation"}
    if "members" in trimmed:
        trimmed["members"] = {
            name: {key: value for key, value in member.items() if key != "documentation"}
            for name, member in trimmed["members"].items()
        }
    return trimmed


def trimmed(service: str, names: set[str]) -> tuple[str, dict[str, Any]]:
    version, model = _latest_model(service)
    operations = {name: op for name, op in model["operations"].items() if xform_name(name) in names}
    shapes: dict[str, Any] = model["shapes"]
    reached: set[str] = set()
    pending = [
        reference["shape"]
        for operation in operations.values()
        for reference in (operation.get("input"), operation.get("output"), *operation.get("errors", ()))
        if reference
    ]
    while pending:
        name = pending.pop()
        if name in reached:
            continue
        reached.add(name)
        shape = shapes[name]
        pending.extend(shape[key]["shape"] for key in ("member", "key", "value") if key in shape)
        pending.extend(member["shape"] for member in shape.get("members", {}).values())
    return version, {
        **{key: value for key, value in model.items() if key not in ("documentation", "operations", "shapes")},
        "operations": {name: _undocumented(operation) for name, operation in sorted(operations.items())},
        "shapes": {name: _undocumented(shapes[name]) for name in sorted(reached)},
    }


def rendered() -> dict[Path, str]:
    names = spelled_names()
    files = {}
    for service in SERVICES:
        version, model = trimmed(service, names)
        files[OUTPUT / service / version / "service-2.json"] = json.dumps(model, indent=1, sort_keys=True) + "\n"
    return files


def main(argv: list[str]) -> int:
    files = rendered()
    stale = sorted(
        str(path.relative_to(ROOT))
        for path in {*files, *OUTPUT.rglob("*.json")}
        if path not in files or not path.exists() or path.read_text(encoding="utf-8") != files[path]
    )
    if "--check" in argv:
        if stale:
            print(f"stale service models ({', '.join(stale)}): run `python scripts/service_models.py`", file=sys.stderr)
            return 1
        return 0
    for path in OUTPUT.rglob("*.json"):
        if path not in files:
            path.unlink()
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
