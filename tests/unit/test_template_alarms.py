"""Every failure the control plane cannot handle by itself raises an alarm: each state machine's failed or timed-out
executions, and each queue where what could not be processed waits."""

import ast
import json

from localcloud.cloud import ROOT
from localcloud.template import load_template

RESOURCES = load_template(ROOT / "template.yaml")["Resources"]
ALARMS = [resource["Properties"] for resource in RESOURCES.values() if resource["Type"] == "AWS::CloudWatch::Alarm"]


def _watched(metric_name: str, dimension: str) -> set[str]:
    """The logical ids whose `metric_name` an alarm watches (plain or in metric math)."""
    watched = set()
    for alarm in ALARMS:
        metrics = [query["MetricStat"]["Metric"] for query in alarm.get("Metrics", []) if "MetricStat" in query]
        metrics += [alarm] if "MetricName" in alarm else []
        for metric in metrics:
            if metric["MetricName"] == metric_name:
                for item in metric.get("Dimensions", []):
                    value = item["Value"]
                    if item["Name"] == dimension and isinstance(value, dict):
                        watched.add(str(value.get("Ref") or value.get("Fn::GetAtt", [""])[0]))
    return watched


def test_every_state_machine_has_an_alarm_on_failed_and_timed_out_executions():
    machines = {name for name, resource in RESOURCES.items() if resource["Type"] == "AWS::Serverless::StateMachine"}

    assert machines <= _watched("ExecutionsFailed", "StateMachineArn")
    assert machines <= _watched("ExecutionsTimedOut", "StateMachineArn")


def test_every_dead_letter_and_failure_destination_queue_has_an_alarm():
    queues = {name for name, resource in RESOURCES.items() if resource["Type"] == "AWS::SQS::Queue"}
    parked = {name for name in queues if "DeadLetter" in name or "Failed" in name}

    assert parked == {
        "DataEventsDeadLetterQueue",
        "EventDeliveryDeadLetterQueue",
        "FailedInvocationsQueue",
        "OutboxDeadLetterQueue",
    }
    assert parked <= _watched("ApproximateNumberOfMessagesVisible", "QueueName")


def test_the_dashboard_draws_every_alarm_workflow_function_and_dead_letter_queue():
    body = RESOURCES["ControlPlaneDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(body if isinstance(body, str) else body[0])["widgets"]
    drawn = json.dumps(widgets)

    alarms = {name for name, resource in RESOURCES.items() if resource["Type"] == "AWS::CloudWatch::Alarm"}
    [alarm_widget] = [widget for widget in widgets if widget["type"] == "alarm"]
    assert set(alarm_widget["properties"]["alarms"]) == {f"${{{name}.Arn}}" for name in alarms}
    for kind in ("AWS::Serverless::StateMachine", "AWS::Serverless::Function"):
        for name in (name for name, resource in RESOURCES.items() if resource["Type"] == kind):
            assert f"${{{name}}}" in drawn, f"{name} is not on the dashboard"
    for queue in (
        "DataEventsDeadLetterQueue",
        "EventDeliveryDeadLetterQueue",
        "FailedInvocationsQueue",
        "OutboxDeadLetterQueue",
    ):
        assert f"${{{queue}.QueueName}}" in drawn
    assert 'MetricName=\\"Announcements\\"' in drawn  # the outbox's EMF metric, by event and model


def _emitted_metric_names() -> set[str]:
    """The EMF metric names the handlers emit: literal `name=` arguments, and one per ingress outcome."""
    from typing import get_args  # noqa: PLC0415

    from controlplane.ingress import ArrivalAction, objects_metric_name  # noqa: PLC0415

    names = {objects_metric_name(action) for action in get_args(ArrivalAction)}
    for handler in (ROOT / "functions").glob("*/app.py"):
        for node in ast.walk(ast.parse(handler.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in {
                "add_metric",
                "single_metric",
            }:
                for keyword in node.keywords:
                    if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                        names.add(str(keyword.value.value))
    return names


def test_every_emitted_metric_is_drawn_on_the_dashboard_and_documented():
    body = RESOURCES["ControlPlaneDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    drawn = body if isinstance(body, str) else body[0]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = readme[readme.index("**Metrics.**") :]

    emitted = _emitted_metric_names()
    assert {"Announcements", "EffectsDelivered", "ObjectsStarted", "ObjectsRejected"} <= emitted
    for name in emitted:
        assert f'"{name}"' in drawn or f'MetricName=\\"{name}\\"' in drawn, f"{name} is not on the dashboard"
        assert f"`{name}`" in documented, f"{name} is not in the README's metrics table"
