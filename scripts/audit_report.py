"""Write a model's governance report for a period: every production change with its requester, approvers, gate
and bias numbers, every gate refusal, and the drift incidents and responses, from the ledger's audit records:

    python scripts/audit_report.py churn --since 2026-11-01 [--until 2026-12-01] --stack mlops-control-plane
    python scripts/audit_report.py churn --since 2026-11-01 --table LEDGER --endpoint-url http://127.0.0.1:5000

It writes `<model>-governance-<since>.md` and `.json` into --output-dir (default: the current directory).
"""

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "layers" / "common")]

from controlplane.adapters.ledger import DynamoDbLedger  # noqa: E402
from controlplane.clock import iso  # noqa: E402
from controlplane.config import ControlPlaneConfig, ModelConfig, load_config  # noqa: E402
from controlplane.errors import ConfigError, UnknownModel  # noqa: E402
from controlplane.ports import AuditRecord  # noqa: E402

PRODUCTION_KINDS = frozenset(
    {
        "DeploymentApprovalRequested",
        "DeploymentApproved",
        "DeploymentSucceeded",
        "DeploymentRolledBack",
        "DeploymentFailed",
        "DeploymentGateFailed",
        "RollbackSucceeded",
        "RollbackFailed",
    }
)
CHANGE_FIELDS = (
    "model_package_version", "model_package_arn", "requested_by", "approved_by", "approval_description",
    "promotion_approved_by", "metrics", "champion_metrics", "bias_metrics", "missing_documentation",
)  # fmt: skip


def _entry(record: AuditRecord, fields: tuple[str, ...]) -> dict[str, Any]:
    details = {field: record.details[field] for field in fields if record.details.get(field) not in (None, "", {})}
    return {"at": iso(record.at), "kind": record.kind, "status": record.status, "reason": record.reason, **details}


def governance_report(
    model: ModelConfig, records: list[AuditRecord], since: datetime, until: datetime | None = None
) -> dict[str, Any]:
    """The report's facts: `records` is the model's history (any order), filtered to [since, until)."""
    in_period = sorted(
        (record for record in records if record.at >= since and (until is None or record.at < until)),
        key=lambda record: record.at,
    )
    production = model.production_endpoint()
    return {
        "model": model.name,
        "owner": model.owner.model_dump() if model.owner else None,
        "maturity": model.maturity,
        "effective_policy": [
            {"setting": line.setting, "value": line.value, "source": line.source} for line in model.effective_policy()
        ],
        "period": {"since": iso(since), "until": iso(until) if until else None},
        "production_endpoint": production,
        "production_changes": [
            _entry(record, CHANGE_FIELDS)
            for record in in_period
            if record.kind in PRODUCTION_KINDS and record.details.get("endpoint") == production
        ],
        "gate_refusals": [
            _entry(record, ("stage", *CHANGE_FIELDS)) for record in in_period if record.kind == "DeploymentGateFailed"
        ],
        "incidents_and_responses": [
            _entry(record, ("endpoint", "incident_id", "signal_kind", "action", "by", "decided_by"))
            for record in in_period
            if record.kind.startswith("Drift")
        ],
    }


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        value = ", ".join(f"{key} {number:g}" if isinstance(number, float) else f"{key} {number}"
                          for key, number in value.items())  # fmt: skip
    elif isinstance(value, list):
        value = ", ".join(map(str, value))
    return str(value if value is not None else "").replace("|", "\\|").replace("\n", " ")


def _table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> list[str]:
    if not rows:
        return ["(none in the period)"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return lines + ["| " + " | ".join(_cell(row.get(column)) for column in columns) + " |" for row in rows]


def render_markdown(report: dict[str, Any]) -> str:
    owner = report["owner"]
    period = report["period"]
    lines = [
        f"# Governance report: {report['model']}",
        "",
        f"Period: {period['since']} to {period['until'] or 'now'}. Owner: {owner['team']} <{owner['contact']}>."
        if owner
        else "Owner: (none configured).",
        f"Maturity: {report['maturity'] or '(unset)'}. Production endpoint: {report['production_endpoint']}.",
        "",
        "## Effective automation policy",
        "",
        *_table(report["effective_policy"], ("setting", "value", "source")),
        "",
        "## Production changes",
        "",
        *_table(
            report["production_changes"],
            (
                "at",
                "kind",
                "status",
                "model_package_version",
                "requested_by",
                "approved_by",
                "promotion_approved_by",
                "metrics",
                "bias_metrics",
                "reason",
            ),
        ),
        "",
        "## Gate refusals (any stage)",
        "",
        *_table(
            report["gate_refusals"],
            ("at", "stage", "model_package_version", "metrics", "bias_metrics", "missing_documentation", "reason"),
        ),
        "",
        "## Drift incidents and responses",
        "",
        *_table(report["incidents_and_responses"], ("at", "kind", "status", "endpoint", "incident_id", "reason")),
        "",
    ]
    return "\n".join(lines)


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a date or time; use e.g. 2026-11-01 or 2026-11-01T09:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _ledger_table(session: boto3.Session, args: argparse.Namespace) -> str:
    if args.table:
        return str(args.table)
    cloudformation = session.client("cloudformation", endpoint_url=args.endpoint_url)
    outputs = cloudformation.describe_stacks(StackName=args.stack)["Stacks"][0].get("Outputs", [])
    table = next((item["OutputValue"] for item in outputs if item["OutputKey"] == "LedgerTableName"), None)
    if table is None:
        raise SystemExit(f"Stack '{args.stack}' has no LedgerTableName output: deploy the current template.yaml")
    return str(table)


def main(argv: list[str] | None = None, config: ControlPlaneConfig | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--since", type=_moment, required=True, help="start of the period (ISO 8601; UTC if no zone)")
    parser.add_argument("--until", type=_moment, help="end of the period (default: now)")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="the control plane's CloudFormation stack (its LedgerTableName output)")
    where.add_argument("--table", help="the ledger table's name")
    parser.add_argument("--endpoint-url", help="e.g. the served local cloud")
    parser.add_argument("--region")
    parser.add_argument("--profile")
    parser.add_argument("--config", help="the control-plane config (default: the bundled one)")
    parser.add_argument("--output-dir", type=Path, default=Path("."))
    args = parser.parse_args(argv)
    try:
        model = (config or load_config(args.config)).model(args.model)
    except (ConfigError, UnknownModel) as error:
        print(error, file=sys.stderr)
        return 1
    session = boto3.Session(region_name=args.region, profile_name=args.profile)
    try:
        table_name = _ledger_table(session, args)
        dynamodb = session.client("dynamodb", endpoint_url=args.endpoint_url)
        records = DynamoDbLedger(table_name, dynamodb).history(model.name)
    except (ClientError, BotoCoreError) as error:
        print(f"cannot read the ledger: {error}", file=sys.stderr)
        return 1
    report = governance_report(model, records, args.since, args.until)
    stem = args.output_dir / f"{model.name}-governance-{args.since:%Y-%m-%d}"
    args.output_dir.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    stem.with_suffix(".md").write_text(render_markdown(report), encoding="utf-8")
    print(f"wrote {stem}.md and {stem}.json: {len(report['production_changes'])} production change(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
