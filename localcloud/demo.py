"""`make demo`: the whole control plane, offline, on the real template, ASL and handlers.

The story: a bulk upload with a completion marker trains once (a duplicate event changes nothing); a dataset
that trickles in trains once after its quiet period; a failing pipeline is reported; an operator's bad request
is rejected with a clear reason, and a deliberate re-run on the same data trains again. Then the trained model
is registered and approved, deployed to staging with a canary, promoted to prod after baking, and a second
version whose canary trips an alarm is rolled back. Finally, drift: Model Monitor's data drift retrains the
model, a quality drop right after a promotion rolls prod back, and a flapping alarm is one incident with one
response. The verdict checks it all.
"""

from collections.abc import Callable
from typing import Any, TextIO

from controlplane.config import ControlPlaneConfig, load_config
from localcloud.cloud import LocalCloud, TimelineEntry
from localcloud.report import dead_letters, execution_outcomes, ledger_records, pipeline_executions
from localcloud.scenarios import (
    AUC_DROP,
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

    cloud.record("story", "After 30 minutes of baking in staging, an operator promotes version 1 to prod")
    cloud.advance(25 * 60)
    promote(cloud, version_1, "promote-churn-v1-prod")
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
    expect.append((deployments == ["FAILED"] + ["SUCCEEDED"] * 5, f"deploy executions {deployments}"))
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
    return [message for ok, message in expect if not ok]


def run_demo(out: TextIO, story: Callable[[LocalCloud, ControlPlaneConfig], None] = run_story) -> int:
    config = load_config()
    with LocalCloud() as cloud:
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
        "back to version 1, and a flapping alarm was one incident with one response; every outcome is in the "
        "ledger and was announced.\n"
    )
    return 0
