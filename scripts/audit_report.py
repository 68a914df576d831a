"""Write a model's governance report for a period: every production change with its requester, approvers, gate
and bias numbers, every gate refusal, and the drift incidents and responses, from the ledger's audit records:

    python scripts/audit_report.py churn --since 2026-11-01 [--until 2026-12-01] --stack mlops-control-plane
    python scripts/audit_report.py churn --since 2026-11-01 --table LEDGER --endpoint-url http://127.0.0.1:5000

It writes `<model>-governance-<since>.md` and `.json` into --output-dir (default: the current directory).
"""

import argparse
import sys
from datetime import datetime
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common")]

from controlplane.adapters.ledger import DynamoDbLedger  # noqa: E402
from controlplane.config import ControlPlaneConfig, load_config  # noqa: E402
from controlplane.errors import ConfigError, UnknownModel  # noqa: E402
from mlops.audit import governance_report, parse_moment, write_report  # noqa: E402


def _moment(text: str) -> datetime:
    try:
        return parse_moment(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


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
    stem = write_report(report, model.name, args.since, args.output_dir)
    print(f"wrote {stem}.md and {stem}.json: {len(report['production_changes'])} production change(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
