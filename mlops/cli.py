"""The `mlops` command line (click, rich): human tables by default, `--json` for scripts.

Exit status: 0 done (or started, without --wait); 1 the workflow failed (--wait); 2 bad input, or AWS could not be
reached or refused: the message says what to fix; 130 interrupted while following an execution (it goes on)."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import jmespath
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from controlplane.config import ControlPlaneConfig, bundled_config
from controlplane.errors import ConfigError
from mlops import audit as audit_report
from mlops import owners as owner_views
from mlops import views, workflows
from mlops.connection import Connection, OperatorError, connect, describe_aws_error, samconfig_stack_name

_console = Console()
_errors = Console(stderr=True)


def _remember_query(context: click.Context, _parameter: click.Parameter, expression: str | None) -> None:
    if expression is None:
        return
    try:
        context.meta["query"] = jmespath.compile(expression)
    except jmespath.exceptions.JMESPathError as error:
        raise click.BadParameter(
            f"not a JMESPath expression ({error}); e.g. '[0].pending_decisions[0].incident_id'"
        ) from error


def _aws_options[F: Callable[..., Any]](command: F) -> F:
    """--stack, --config-env, --region, --profile, --endpoint-url and --json, on every command that reads AWS."""
    options = [
        click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts instead of tables."),
        click.option(
            "--query",
            expose_value=False,
            callback=_remember_query,
            help="A JMESPath expression applied to the JSON output, as the AWS CLI's --query (implies --json; "
            "a string result prints bare, for shell variables).",
        ),
        click.option(
            "--endpoint-url",
            envvar="MLOPS_ENDPOINT_URL",
            help="Another endpoint than AWS's, e.g. the served local cloud (env MLOPS_ENDPOINT_URL).",
        ),
        click.option("--profile", envvar="AWS_PROFILE", help="AWS profile (as the AWS CLI takes it)."),
        click.option("--region", help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION or the profile's)."),
        click.option("--config-env", default="default", show_default=True, help="samconfig.toml environment."),
        click.option(
            "--stack", envvar="MLOPS_STACK", help="The control plane's stack (default: samconfig.toml's stack_name)."
        ),
    ]
    for option in options:
        command = option(command)
    return command


def _run[F: Callable[..., Any]](command: F) -> F:
    """Turn every failure an operator can fix into one line on stderr and exit status 2, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if "query" in click.get_current_context().meta:
            kwargs["as_json"] = True
        try:
            return command(*args, **kwargs)
        except OperatorError as error:
            _errors.print(f"[red]error:[/red] {escape(str(error))}", highlight=False, soft_wrap=True)
        except ConfigError as error:
            _errors.print(f"error: {error}", highlight=False, markup=False, soft_wrap=True)
        except (ClientError, BotoCoreError) as error:
            _errors.print(f"error: {describe_aws_error(error, kwargs.get('endpoint_url'))}", markup=False)
        sys.exit(2)

    return wrapper  # type: ignore[return-value]


def _connect(
    stack: str | None, config_env: str, region: str | None, profile: str | None, endpoint_url: str | None
) -> Connection:
    return connect(stack or samconfig_stack_name(config_env), region, profile, endpoint_url)


def _config() -> ControlPlaneConfig:
    return bundled_config()


def _print_json(data: Any) -> None:
    query = click.get_current_context().meta.get("query")
    if query is not None:
        data = query.search(json.loads(json.dumps(data, default=str)))
        if isinstance(data, str):
            click.echo(data)
            return
    click.echo(json.dumps(data, indent=2, default=str))


def _cell(value: Any) -> str:
    return "-" if value is None or value == "" else str(value)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mlops-control-plane")
def main() -> None:
    """Operate the MLOps control plane: its state, its history, and what you ask of it.

    The stack is found by its CloudFormation outputs; point at the served local cloud with --endpoint-url
    (or MLOPS_ENDPOINT_URL) and --stack mlops-local."""


# ------------------------------------------------------------------------------------------------ reading
@main.command()
@click.argument("model", required=False)
@_aws_options
@_run
def status(model: str | None, as_json: bool, **aws: Any) -> None:
    """Per model: trainings, the last training result, each stage's endpoint and version, incidents, decisions."""
    data = views.status(_connect(**aws), _config(), model)
    if as_json:
        _print_json(data)
        return
    for entry in data:
        _console.rule(f"[bold]{entry['model']}")
        _print_policy(entry["policy"])
        last = entry["last_training"]
        if entry["trainings"]:
            table = Table("training", "dataset", "since", "execution", title="trainings")
            for training in entry["trainings"]:
                table.add_row(training["state"], training["dataset_uri"], training["since"], training["execution"])
            _console.print(table)
        else:
            _console.print("no training running or waiting")
        if last:
            _console.print(
                f"last training: {last['kind']} at {last['at']} ({last.get('dataset_uri', '-')}): {last['reason']}"
            )
        if entry["stages"]:
            table = Table("stage", "endpoint", "serving", "since", "status", "previous", "last known good", "lock")
            for stage in entry["stages"]:
                table.add_row(
                    stage["stage"],
                    stage["endpoint"],
                    f"v{stage['serving_version']}" if stage["serving_version"] else "-",
                    _cell(stage["since"]),
                    _cell(stage["status"]),
                    f"v{stage['previous_version']}" if stage["previous_version"] else "-",
                    f"v{stage['last_known_good_version']}" if stage["last_known_good_version"] else "-",
                    stage["lock"]["holder"] if stage["lock"] else "-",
                )
            _console.print(table)
        if entry["incidents"]:
            table = Table("incident", "endpoint", "kind", "status", "opened", "signals", title="open incidents")
            for incident in entry["incidents"]:
                table.add_row(
                    *(
                        str(incident[key])
                        for key in ("incident_id", "endpoint", "kind", "status", "opened_at", "signals")
                    )
                )
            _console.print(table)
        for pending in entry["pending_decisions"]:
            _console.print(
                f"[yellow]decision pending[/yellow] for incident {pending['incident_id']} on {pending['endpoint']} "
                f"since {pending['requested_at']}: {pending['reason']}\n  answer: {pending['answer']}",
                highlight=False,
            )
        for pending in entry["pending_approvals"]:
            _console.print(
                f"[yellow]approval pending[/yellow] {pending['approval_id']}: v{pending['version']} to "
                f"{pending['stage']}, requested by {pending['requested_by']} at {pending['requested_at']}\n"
                f"  answer (not {pending['requested_by']}): {pending['answer']}",
                highlight=False,
            )


def _print_policy(policy: dict[str, Any]) -> None:
    owner = policy["owner"]
    who = f"{owner['team']} <{owner['contact']}>" if owner else "(no owner)"
    automation = ", ".join(
        f"{line['setting']}: {'yes' if line['runs_by_itself'] else 'no'} ({line['source']})"
        for line in policy["automation"]
    )
    _console.print(f"owner {who}, maturity {policy['maturity'] or '(unset)'}; {automation}", highlight=False)


@main.command()
@click.argument("model")
@_aws_options
@_run
def history(model: str, as_json: bool, **aws: Any) -> None:
    """The model's audit timeline, oldest first."""
    records = views.history(_connect(**aws), _config(), model)
    if as_json:
        _print_json(records)
        return
    table = Table("at", "record", "status", "reason", "dataset / execution", title=f"history of {model}")
    for record in records:
        link = record.get("dataset_uri") or str(record.get("execution_arn", "-")).rsplit(":", 1)[-1]
        table.add_row(record["at"], record["kind"], _cell(record["status"]), record["reason"], link)
    _console.print(table)


def _moment(_context: click.Context, _parameter: click.Parameter, text: str | None) -> datetime | None:
    try:
        return None if text is None else audit_report.parse_moment(text)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@main.command()
@click.argument("model")
@click.option("--since", required=True, callback=_moment, help="Start of the period (ISO 8601; UTC if no zone).")
@click.option("--until", callback=_moment, help="End of the period (default: now).")
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Where the report's .md and .json go.",
)
@_aws_options
@_run
def audit(model: str, since: datetime, until: datetime | None, output_dir: Path, as_json: bool, **aws: Any) -> None:
    """The model's governance report for a period (Markdown and JSON): every production change with requester,
    approvers, gate and bias numbers, gate refusals, incidents and responses."""
    configured = workflows.configured_model(_config(), model)
    records = _connect(**aws).ledger.history(configured.name)
    report = audit_report.governance_report(configured, records, since, until)
    stem = audit_report.write_report(report, configured.name, since, output_dir)
    if as_json:
        _print_json(report)
        return
    changes = len(report["production_changes"])
    _console.print(f"wrote {stem}.md and {stem}.json: {changes} production change(s)", highlight=False)


@main.command()
@click.option("--subscribe", is_flag=True, help="Subscribe each owner's contact that has no filtered subscription.")
@_aws_options
@_run
def owners(subscribe: bool, as_json: bool, **aws: Any) -> None:
    """Each model owner's email subscription to the notifications about its models (filter policy on `owner`)."""
    connection = _connect(**aws)
    found = (owner_views.subscribe_owners if subscribe else owner_views.owner_subscriptions)(connection, _config())
    if as_json:
        _print_json(found)
        return
    table = Table("team", "contact", "models", "subscribed", title="owners")
    for owner in found:
        table.add_row(owner["team"], owner["contact"], ", ".join(owner["models"]), "yes" if owner["subscribed"] else
                      "no (mlops owners --subscribe)")  # fmt: skip
    _console.print(table)


def _tree(node: dict[str, Any], into: Tree | None = None) -> Tree:
    detail = f" [dim]{node['at']} {escape(node.get('reason', ''))}[/dim]" if "at" in node else ""
    label = f"[bold]{node['node']}[/bold] {escape(node['label'])}{detail}"
    branch = Tree(label, highlight=False) if into is None else into.add(label, highlight=False)
    for child in node["children"]:
        _tree(child, branch)
    return branch


@main.command()
@click.argument("target")
@_aws_options
@_run
def lineage(target: str, as_json: bool, **aws: Any) -> None:
    """dataset -> pipeline execution -> package -> deployments -> incidents -> responses, as one tree.

    TARGET is a dataset URI (s3://bucket/prefix/), a model package ARN or an incident id."""
    tree = views.lineage(_connect(**aws), _config(), target)
    if as_json:
        _print_json(tree)
    else:
        _console.print(_tree(tree))


# ------------------------------------------------------------------------------------------------ acting
def _wait_option[F: Callable[..., Any]](command: F) -> F:
    return click.option("--wait", is_flag=True, help="Follow the execution to its end; exit 1 if it fails.")(command)


def _act(connection: Connection, request: workflows.Request, wait: bool, as_json: bool) -> None:
    _follow(connection, workflows.start_once(connection, request), request, wait, as_json)


def _follow(
    connection: Connection, started: workflows.Started, request: workflows.Request, wait: bool, as_json: bool
) -> None:
    name = started.execution_arn.rsplit(":", 1)[-1]
    said = {
        "started": f"started {name}",
        "running": f"{name} is running this request",
        "done": f"{name} already succeeded; nothing to do (the same request has the same execution name)",
        "answered": f"answer sent to {name}",
    }[started.outcome]
    result: dict[str, Any] = {
        "execution_arn": started.execution_arn,
        "outcome": started.outcome,
        "input": request.input,
    }
    if not as_json:
        _console.print(said, highlight=False)
    if not wait or started.outcome == "done":
        if as_json:
            _print_json(result)
        return
    steps: list[dict[str, Any]] = []

    def show(step: workflows.Step) -> None:
        steps.append(vars(step))
        if as_json:
            return
        at = step.at[11:19]  # the time of day of `YYYY-MM-DD HH:MM:SS...`
        if step.state and step.kind.endswith("Entered"):
            _console.print(f"  {at}  -> {escape(step.state)}", highlight=False)
        elif step.detail:
            _console.print(f"  {at}  [red]{step.kind}[/red] {escape(step.detail)}", highlight=False)
        elif step.state is None:
            _console.print(f"  {at}  {step.kind}", highlight=False)

    try:
        if as_json:
            ended = workflows.follow(connection, started.execution_arn, show)
        else:
            with _console.status(f"following {name} (Ctrl-C stops following, not the execution)"):
                ended = workflows.follow(connection, started.execution_arn, show)
    except KeyboardInterrupt:
        _errors.print(f"stopped following; {name} goes on: {started.execution_arn}", highlight=False)
        sys.exit(130)
    result |= {"status": ended["status"], "error": ended["error"], "cause": ended["cause"], "steps": steps}
    if as_json:
        _print_json(result)
    elif ended["status"] == "SUCCEEDED":
        _console.print(f"[green]{name} SUCCEEDED[/green]", highlight=False)
    else:
        _console.print(f"[red]{name} {ended['status']}[/red]: {ended['error']}: {ended['cause']}", highlight=False)
    if ended["status"] != "SUCCEEDED":
        sys.exit(1)


@main.command()
@click.argument("model")
@click.argument("dataset_uri")
@click.option("--reason", required=True, help="Why (recorded in the ledger and the notifications).")
@click.option("--run-key", help="Train a dataset that trained before again: each new key is a new run.")
@_wait_option
@_aws_options
@_run
def retrain(
    model: str, dataset_uri: str, reason: str, run_key: str | None, wait: bool, as_json: bool, **aws: Any
) -> None:
    """Train MODEL on DATASET_URI (s3://bucket/prefix/) through the retrain workflow."""
    request = workflows.retrain(_config(), model, dataset_uri, reason, run_key)
    _act(_connect(**aws), request, wait, as_json)


@main.command()
@click.argument("model")
@click.argument("version", type=click.IntRange(min=1))
@click.option("--to", "stage", help="The stage to promote to (default: the last).")
@click.option("--by", "requested_by", required=True, help="Who asks (recorded).")
@click.option("--reason", default="promoted by an operator", show_default=True, help="Why (recorded).")
@_wait_option
@_aws_options
@_run
def promote(
    model: str, version: int, stage: str | None, requested_by: str, reason: str, wait: bool, as_json: bool, **aws: Any
) -> None:
    """Promote VERSION of MODEL to the next stage; refused unless it baked in the stage before."""
    connection = _connect(**aws)
    request = workflows.promote(connection, _config(), model, version, stage, requested_by, reason)
    _act(connection, request, wait, as_json)


@main.command()
@click.argument("endpoint")
@click.option("--reason", required=True, help="Why (recorded).")
@click.option(
    "--to",
    default="last_known_good",
    show_default=True,
    help="last_known_good, or a version (or package ARN) it served.",
)
@_wait_option
@_aws_options
@_run
def rollback(endpoint: str, reason: str, to: str, wait: bool, as_json: bool, **aws: Any) -> None:
    """Put ENDPOINT back on its last known good version (or on a package it served before)."""
    connection = _connect(**aws)
    _act(connection, workflows.rollback(connection, _config(), endpoint, to, reason), wait, as_json)


@main.command()
@click.argument("incident_id")
@click.option("--action", required=True, type=click.Choice(["rollback", "retrain", "dismiss"]), help="The answer.")
@click.option("--by", required=True, help="Who decides (recorded).")
@click.option("--reason", required=True, help="Why (recorded).")
@click.option("--dataset-uri", help="retrain: the dataset to train on (default: the policy's).")
@_wait_option
@_aws_options
@_run
def decide(
    incident_id: str, action: str, by: str, reason: str, dataset_uri: str | None, wait: bool, as_json: bool, **aws: Any
) -> None:
    """Answer a drift incident's pending decision (`mlops status` lists them)."""
    request = workflows.decide(incident_id, action, by, reason, dataset_uri)
    _act(_connect(**aws), request, wait, as_json)


@main.command()
@click.argument("approval_id")
@click.option("--by", required=True, help="Who approves (recorded; not the requester).")
@click.option("--reason", required=True, help="Why (recorded).")
@click.option("--refuse", is_flag=True, help="Refuse the deployment instead of approving it.")
@_wait_option
@_aws_options
@_run
def approve(approval_id: str, by: str, reason: str, refuse: bool, wait: bool, as_json: bool, **aws: Any) -> None:
    """Approve (or --refuse) a deployment waiting for another person's approval (`mlops status` lists them)."""
    _act(_connect(**aws), workflows.approve(approval_id, not refuse, by, reason), wait, as_json)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
def replay(files: tuple[str, ...]) -> None:
    """What would the control plane do with these EventBridge events? (the local cloud, offline)"""
    try:
        from localcloud.__main__ import main as localcloud  # noqa: PLC0415 - needs moto: the checkout's venv only
    except ImportError as error:
        _errors.print(
            f"error: replay runs the local cloud, which needs the checkout's environment (make venv): {error}"
        )
        sys.exit(2)
    sys.exit(localcloud(["replay", *files]))
