"""Write the JSON Schemas of the workflows' manual inputs to schemas/ (`--check`: fail if they are stale)."""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "layers" / "common"))

from controlplane.decisions import ApprovalRequest, DecisionRequest  # noqa: E402
from controlplane.drift import DriftRequest  # noqa: E402
from controlplane.events.monitoring import DriftDetectedDetail  # noqa: E402
from controlplane.requests import DeployRequest, RetrainRequest, RollbackRequest  # noqa: E402

SCHEMAS = {
    "retrain-request.schema.json": RetrainRequest,
    "deploy-request.schema.json": DeployRequest,
    "rollback-request.schema.json": RollbackRequest,
    "drift-request.schema.json": DriftRequest,
    "drift-detected-detail.schema.json": DriftDetectedDetail,
    "decision-request.schema.json": DecisionRequest,
    "approval-request.schema.json": ApprovalRequest,
}


def rendered() -> dict[str, str]:
    return {name: json.dumps(model.model_json_schema(), indent=2) + "\n" for name, model in SCHEMAS.items()}


def main(argv: list[str]) -> int:
    stale = []
    for name, text in rendered().items():
        path = ROOT / "schemas" / name
        if "--check" in argv:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"schemas/ is stale ({', '.join(stale)}): run `python scripts/export_schemas.py`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
