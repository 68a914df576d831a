"""`make demo`: the whole control plane, offline, on the real template, ASL and handlers.

The story: a bulk upload with a completion marker trains once (a duplicate event changes nothing); a dataset
that trickles in trains once after its quiet period; a failing pipeline is reported; an operator's bad request
is rejected with a clear reason, and a deliberate re-run on the same data trains again. Then the trained model
is registered and approved, deployed to staging with a canary, promoted to prod after baking, and a second
version whose canary trips an alarm is rolled back. Finally, drift: Model Monitor's data drift retrains the
model, a quality drop right after a promotion rolls prod back, and a flapping alarm is one incident with one
response. Governance: each promotion to prod waits for someone other than its requester (alice's own approval is
refused, bob's is taken), and a version whose bias report breaks the bounds is refused with the numbers, told to
its owner. The verdict checks it all.
"""

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from controlplane.config import DEFAULT_CONFIG_PATH, ControlPlaneConfig, load_config
from controlplane.deploy import approval_id
from localcloud.cloud import LocalCloud, TimelineEntry
from localcloud.report import dead_letters, execution_outcomes, ledger_records, notifications, pipeline_executions
from localcloud.scenarios import (
    AUC_DROP,
    DECISION,
    FEATURE_DRIFT,
    RETRAIN,
    create_auc_drop_alarm,
    create_feature_drift_alarm,
    flap_alarm,
    promote,
    register_model_package,
    report_feature_drift,
    run_execution,
    set_approval,
    start_execution,
    upload_dataset,
)

_SHOWN_LOG_MESSAGES = {
    "Object ignored", "Objects recorded", "Retrain workflow started", "Retrain workflow already started",
    "Model package change handled", "Endpoint status handled", "Drift signal handled",
}  # fmt: skip
_KIND_LABEL = {
    "s3": "S3", "rule": "EventBridge", "lambda": "Lambda", "execution": "StepFunctions", "pipeline": "SageMaker",
    "sns": "SNS", "bus": "Bus", "dlq": "DLQ", "deploy": "LocalCloud", "seed": "LocalCloud", "operator": "Operator",
    "story": "",
}  # fmt: skip


def _print_entry(entry: TimelineEntry, start: Any, out: TextIO) -> None:
    elapsed = int((entry.at - start).total_seconds())
    stamp = f"T+{elapsed // 3600:02d}:{elapsed % 3600 // 60:02d}:{elapsed % 60:02d}"
    if entry.kind == "story":
        out.write(f"\n== {entry.text}\n")
        return
    out.write(f"{stamp}  {_KIND_LABEL.get(entry.kind, entry.kind):<13} {entry.text}\n")
    for line in entry.data.get("logs", []):
        if line.get("message") in _SHOWN_LOG_MESSAGES:
            reason = line.get("reason") or line.get("dataset_uri") or ""
            out.write(f"{'':24}{line['message']}: {reason}\n")


def run_story(cloud: LocalCloud, config: ControlPlaneConfig) -> None:
    bucket = cloud.data_bucket
    cloud.record("story", "Bulk upload of a churn dataset, completed by a _SUCCESS marker")
    upload_dataset(cloud, "datasets/churn/2026-11-27/", parts=4, marker=None)
    cloud.put_object("datasets/churn/2026-11-27/", b"")
    cloud.put_object("datasets/churn/README.txt", b"about the data")
    cloud.put_object("exports/dashboard.csv", b"a,b")
    cloud.put_object("controlplane/reports/summary.json", b"{}")
    cloud.put_object("datasets/churn/2026-11-27/_SUCCESS", b"")
    cloud.settle(fire_timers=False)
    marker_event = next(
        entry.data["event"]
        for entry in cloud.timeline
        if entry.kind == "rule" and entry.data["event"]["detail"]["object"]["key"].endswith("_SUCCESS")
    )
    cloud.record("story", "EventBridge delivers the same marker event again (at-least-once delivery)")
    cloud.put_event(marker_event)
    cloud.advance(15 * 60)

    cloud.record("story", "A fraud dataset trickles in, one object a minute; training waits for 5 quiet minutes")
    for part in range(6):
        cloud.put_object(f"datasets/fraud/2026/11/27/events-{part:03d}.json", b'{"amount": 1}')
        cloud.advance(60)
    cloud.advance(20 * 60)

    cloud.record("story", "A churn dataset whose training pipeline fails")
    pipelines = cloud.extensions.pipelines
    pipelines.set_pipeline_outcome(
        "churn-training", status="Failed", duration_seconds=300, failure_reason="AlgorithmError: loss diverged"
    )
    upload_dataset(cloud, "datasets/churn/2026-11-28/", body=b"rows")
    cloud.advance(10 * 60)
    pipelines.set_pipeline_outcome("churn-training", status="Succeeded", duration_seconds=600)

    cloud.record("story", "An operator asks for a retrain of a model that does not exist")
    bad_request = {"model": "churm", "dataset_uri": f"s3://{bucket}/datasets/churn/2026-11-27/", "reason": "manual"}
    run_execution(cloud, RETRAIN, "manual-typo", bad_request)

    cloud.record("story", "An operator re-trains churn on the same dataset on purpose (a new run_key)")
    rerun = {
        "model": "churn",
        "dataset_uri": f"s3://{bucket}/datasets/churn/2026-11-27/",
        "reason": "manual: new feature set",
        "run_key": "features-v2",
    }
    start_execution(cloud, RETRAIN, "manual-rerun-features-v2", rerun)
    cloud.advance(15 * 60)
    deployment_story(cloud)
    drift_story(cloud)
    bias_refusal_scene(cloud)


def deployment_story(cloud: LocalCloud) -> None:
    cloud.record("story", "The churn model's version 1 (AUC 0.91) is registered and approved in the Model Registry")
    version_1 = register_model_package(cloud, 0.91)
    cloud.settle()
    set_approval(cloud, version_1)
    cloud.advance(10 * 60)

    cloud.record("story", "A metadata edit of the approved version 1 must not redeploy it")
    cloud.client("sagemaker").update_model_package(
        ModelPackageArn=version_1, CustomerMetadataProperties={"owner": "churn-team"}
    )
    cloud.settle()

    cloud.record("story", "After 30 minutes of baking in staging, alice promotes version 1 to prod")
    cloud.advance(25 * 60)
    promote(cloud, version_1, "promote-churn-v1-prod")
    separation_of_duties_scene(cloud, "promote-churn-v1-prod", self_approval=True)
    cloud.advance(15 * 60)

    cloud.record("story", "Version 2 (AUC 0.92) is approved; its canary trips the 5xx alarm and SageMaker rolls back")
    cloud.extensions.endpoints.set_endpoint_outcome(
        "churn-staging", "rollback", failure_reason="Alarm churn-staging-5xx-errors went to ALARM during baking"
    )
    version_2 = register_model_package(cloud, 0.92)
    set_approval(cloud, version_2)
    cloud.advance(20 * 60)


def drift_story(cloud: LocalCloud) -> None:
    create_feature_drift_alarm(cloud)
    create_auc_drop_alarm(cloud)
    cloud.record("story", "Model Monitor finds data drift on churn-prod (feature 'age'): the model is retrained")
    report_feature_drift(cloud, "churn-prod", "age", distance=0.31, threshold=0.2)
    cloud.advance(20 * 60)

    cloud.record("story", "Version 3 (AUC 0.93) is approved, deployed to staging and promoted to prod after baking")
    cloud.extensions.endpoints.set_endpoint_outcome("churn-staging", "succeed")
    version_3 = register_model_package(cloud, 0.93)
    set_approval(cloud, version_3)
    cloud.advance(41 * 60)  # 10 minutes of deployment, then 30 of baking
    promote(cloud, version_3, "promote-churn-v3-prod")
    separation_of_duties_scene(cloud, "promote-churn-v3-prod")
    cloud.advance(20 * 60)

    cloud.record("story", "An hour later, churn-prod's AUC drops: version 3 is fresh, so prod rolls back to version 1")
    alarms = cloud.extensions.monitoring
    alarms.raise_alarm(AUC_DROP, "ALARM", reason="Threshold Crossed: 1 datapoint [0.62] < 0.75")
    cloud.advance(20 * 60)
    alarms.raise_alarm(AUC_DROP, "OK", reason="Threshold Crossed: 1 datapoint [0.90] >= 0.75")
    cloud.settle()

    cloud.advance(6 * 60 * 60)  # the data-drift incident's window closes
    cloud.record("story", "The drift alarm flaps three times: one incident; the retrain cooldown asks a human")
    flap_alarm(cloud, FEATURE_DRIFT, 3)
    cloud.advance(90 * 60)


# ------------------------------------------------------------------------------------------- governance scenes
APPROVAL_TIMEOUT_MINUTES = 60
_DPPL = "post_training gender=F DPPL"


def demo_config(directory: Path) -> Path:
    """The bundled config with churn's prod stage requiring another person's approval (separation of duties)."""
    bundled = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")
    prod = "        - name: prod\n          endpoint_name: churn-prod\n"
    if prod not in bundled:
        raise ValueError(f"{DEFAULT_CONFIG_PATH}: churn's prod stage moved; update localcloud/demo.py demo_config")
    approval = f"          requires_approval: true\n          approval_timeout_minutes: {APPROVAL_TIMEOUT_MINUTES}\n"
    path = directory / "controlplane.yaml"
    path.write_text(bundled.replace(prod, prod + approval), encoding="utf-8")
    return path


def _answer_approval(cloud: LocalCloud, execution: str, by: str, approve: bool, reason: str) -> None:
    """`mlops approve`: StartExecution on the decision state machine with the approval's id."""
    answer = {"approval_id": approval_id(execution), "approve": approve, "by": by, "reason": reason}
    start_execution(cloud, DECISION, f"answer-{answer['approval_id']}-{by}", answer)
    cloud.advance(60)


def separation_of_duties_scene(cloud: LocalCloud, execution: str, self_approval: bool = False) -> None:
    """The promotion `execution` (requested by alice) waits in AskApproval; with `self_approval` alice first tries
    to approve it herself and the decision workflow refuses; then bob approves and the promotion proceeds."""
    cloud.record("story", f"The prod stage requires another person's approval: {execution} waits (token in the ledger)")
    cloud.advance(60)
    if self_approval:
        _answer_approval(cloud, execution, "alice", True, "looks good to me")
    _answer_approval(cloud, execution, "bob", True, "reviewed the staging metrics and bias report")


def bias_refusal_scene(cloud: LocalCloud) -> None:
    """A better version whose registered bias report breaks the configured bound: the gate refuses it with the
    numbers, staging keeps serving its version, and the owner hears of it."""
    cloud.record("story", "Version 4 (AUC 0.94) is approved, but its bias report says DPPL 0.3 for gender=F: refused")
    version_4 = register_model_package(cloud, 0.94, dppl=0.3)
    cloud.settle()
    set_approval(cloud, version_4)
    cloud.advance(10 * 60)


def governance_verdict(cloud: LocalCloud) -> list[str]:
    """The governance scenes' expectations; each failed one as a sentence."""
    records = ledger_records(cloud)
    refusals = [record for record in records if record["kind"] == "DeploymentGateFailed"]
    dppl = [
        float(record["details"].get("bias_metrics", {}).get("post_training gender=F DPPL", 0)) for record in refusals
    ]
    told = [
        message
        for message in (json.loads(entry.data["message"]) for entry in notifications(cloud))
        if message.get("event") == "Deployment Failed" and message.get("status") == "GateFailed"
    ]
    answers = [(record["details"]["requested_by"], record["details"]["by"]) for record in records
               if record["kind"] == "ApprovalAnswered"]  # fmt: skip
    refused = [json.loads(record["details"]["request"]).get("by") for record in records
               if record["kind"] == "DecisionRejected"]  # fmt: skip
    approved = [record["details"].get("promotion_approved_by") for record in records
                if record["kind"] == "DeploymentSucceeded" and record["details"].get("stage") == "prod"]  # fmt: skip
    expect = [
        (dppl == [0.3], f"bias refusals with DPPL {dppl}, expected one at 0.3"),
        (
            [message.get("owner") for message in told] == ["churn-team"],
            "the bias refusal was not announced to churn-team",
        ),
        (answers == [("alice", "bob")] * 2, f"approvals (requester, approver) {answers}, expected alice/bob twice"),
        (refused == ["alice"], f"refused answers by {refused}, expected alice's self-approval"),
        (approved == ["bob", "bob"], f"prod deployments approved by {approved}, expected bob twice"),
    ]
    return [message for ok, message in expect if not ok]


def _serving_config(cloud: LocalCloud, endpoint: str) -> str | None:
    try:
        return str(cloud.client("sagemaker").describe_endpoint(EndpointName=endpoint)["EndpointConfigName"])
    except cloud.client("sagemaker").exceptions.ClientError:
        return None


def verdict(cloud: LocalCloud) -> list[str]:
    """The scenario's expectations; each failed one is returned as a sentence."""
    pipelines = pipeline_executions(cloud)
    per_pipeline = {
        name: sum(1 for run in pipelines if run["pipeline"] == name) for name in ("churn-training", "fraud-training")
    }
    expect: list[tuple[bool, str]] = [
        (per_pipeline["churn-training"] == 4, f"churn-training ran {per_pipeline['churn-training']} times, expected 4"),
        (per_pipeline["fraud-training"] == 1, f"fraud-training ran {per_pipeline['fraud-training']} times, expected 1"),
        (
            sorted(run["status"] for run in pipelines) == ["Failed"] + ["Succeeded"] * 4,
            f"pipeline statuses {sorted(run['status'] for run in pipelines)}",
        ),
    ]
    outcomes = execution_outcomes(cloud)
    retrain = sorted(o["status"] for o in outcomes.values() if o["state_machine"] == "RetrainStateMachine")
    expect.append((retrain == ["FAILED", "FAILED"] + ["SUCCEEDED"] * 4, f"retrain executions {retrain}"))
    deployments = sorted(o["status"] for o in outcomes.values() if o["state_machine"] == "DeployStateMachine")
    # version 2's canary rolled back, version 4's bias refused
    expect.append((deployments == ["FAILED"] * 2 + ["SUCCEEDED"] * 5, f"deploy executions {deployments}"))
    drift = [o["status"] for o in outcomes.values() if o["state_machine"] == "DriftStateMachine"]
    expect.append((drift == ["SUCCEEDED"] * 3, f"drift executions {drift}, expected 3 that succeeded"))
    staging, prod = _serving_config(cloud, "churn-staging") or "", _serving_config(cloud, "churn-prod") or ""
    expect.append((staging.startswith("churn-staging-v3-"), f"churn-staging serves {staging or 'nothing'}, not v3"))
    expect.append((prod.startswith("churn-prod-v1-"), f"churn-prod serves {prod or 'nothing'}, not v1"))
    rejected = outcomes.get("manual-typo", {})
    expect.append(
        (
            "churm" in str(rejected.get("cause")) and rejected.get("error") == "InvalidRequest",
            "the typo was not rejected clearly",
        )
    )
    kinds = [record["kind"] for record in ledger_records(cloud)]
    expect.append(
        (kinds.count("TrainingSucceeded") == 4, f"ledger has {kinds.count('TrainingSucceeded')} TrainingSucceeded")
    )
    expect.append((kinds.count("TrainingFailed") == 1, f"ledger has {kinds.count('TrainingFailed')} TrainingFailed"))
    expect.append(
        (kinds.count("DeploymentSucceeded") == 4, f"ledger has {kinds.count('DeploymentSucceeded')} deployments")
    )
    decisions = [record["status"] for record in ledger_records(cloud) if record["kind"] == "DriftResponseDecided"]
    expect.append((decisions == ["retrain", "rollback", "dismiss"], f"drift decisions {decisions}"))
    expect.append((kinds.count("RollbackSucceeded") == 1, "prod's rollback is not in the ledger"))
    expect.append((kinds.count("DeploymentRolledBack") == 1, "version 2's rollback is not in the ledger"))
    letters = dead_letters(cloud)
    expect.append((not any(letters.values()), f"dead letters: {letters}"))
    return [message for ok, message in expect if not ok] + governance_verdict(cloud)


def run_demo(out: TextIO, story: Callable[[LocalCloud, ControlPlaneConfig], None] = run_story) -> int:
    with tempfile.TemporaryDirectory() as directory, LocalCloud(config_path=demo_config(Path(directory))) as cloud:
        config = load_config(cloud.config_path)
        cloud.seed(config)
        start = cloud.clock.now()
        story(cloud, config)
        cloud.settle()
        out.write("Timeline (virtual time; nothing slept):\n")
        for entry in cloud.timeline:
            _print_entry(entry, start, out)
        out.write("\nLedger (audit records, oldest first):\n")
        for record in ledger_records(cloud):
            out.write(f"  {record['at']}  {record['kind']:<20} {record['model']:<8} {record['reason']}\n")
        out.write("\nPipeline executions:\n")
        for run in pipeline_executions(cloud):
            out.write(f"  {run['pipeline']:<16} {run['status']:<10} {run['display_name']}\n")
        problems = verdict(cloud)
    if problems:
        out.write("\nVERDICT: FAILED - " + "; ".join(problems) + "\n")
        return 1
    out.write(
        "\nVERDICT: OK - 3 datasets, 1 deliberate re-run and 1 drift retraining gave exactly 5 pipeline "
        "executions; duplicates, ignored objects and a bad request started nothing; version 2 was rolled back "
        "after its canary alarm; data drift retrained once, a quality drop after version 3's promotion rolled prod "
        "back to version 1, and a flapping alarm was one incident with one response; each promotion to prod "
        "was approved by bob, not alice who asked (her own approval was refused); version 4's bias report kept it "
        "out of staging and churn-team was told; every outcome is in the ledger and was announced.\n"
    )
    return 0
