"""Every failure the control plane cannot handle by itself raises an alarm: each state machine's failed or timed-out
executions, and each queue where what could not be processed waits."""

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
