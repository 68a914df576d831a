"""A model's governance report for a period, from the ledger's audit records: every production change with its
requester, approvers, gate and bias numbers, every gate refusal, and the drift incidents and responses.
`mlops audit` (and scripts/audit_report.py) write it as Markdown and JSON, what a regulated team hands its auditor.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from controlplane.clock import iso
from controlplane.config import ModelConfig
from controlplane.ports import AuditRecord

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


def parse_moment(text: str) -> datetime:
    """An ISO 8601 date or time, UTC when it names no zone; ValueError says what to write."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a date or time; use e.g. 2026-11-01 or 2026-11-01T09:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def write_report(report: dict[str, Any], model: str, since: datetime, output_dir: Path) -> Path:
    """`<model>-governance-<since>.md` and `.json` in `output_dir`; returns their common stem."""
    stem = output_dir / f"{model}-governance-{since:%Y-%m-%d}"
    output_dir.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    stem.with_suffix(".md").write_text(render_markdown(report), encoding="utf-8")
    return stem
