"""`make demo`: the whole control plane, offline, on the real template, ASL and handlers.

The story: a bulk upload with a completion marker trains once (a duplicate event changes nothing); a dataset
that trickles in trains once after its quiet period; a failing pipeline is reported; an operator's bad request
is rejected with a clear reason, and a deliberate re-run on the same data trains again. Then the trained model
is registered and approved, deployed to staging with a canary, promoted to prod after baking, and a second
version whose canary trips an alarm is rolled back. Finally, drift: Model Monitor's data drift retrains the
model, a quality drop right after a promotion rolls prod back, and a flapping alarm is one incident with one
response. The verdict checks it all.
"""

import json
from collections.abc import Callable
from typing import Any, TextIO

from controlplane.config import ControlPlaneConfig, load_config
from localcloud import extensions
from localcloud.cloud import LocalCloud, TimelineEntry
from localcloud.report import dead_letters, execution_outcomes, ledger_records, pipeline_executions

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
    for part in range(4):
        cloud.put_object(f"datasets/churn/2026-11-27/part-{part:04d}.parquet", b"rows" * 100)
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
    extensions.set_pipeline_outcome(
        "churn-training", status="Failed", duration_seconds=300, failure_reason="AlgorithmError: loss diverged"
    )
    cloud.put_object("datasets/churn/2026-11-28/part-0000.parquet", b"rows")
    cloud.put_object("datasets/churn/2026-11-28/_SUCCESS", b"")
    cloud.advance(10 * 60)
    extensions.set_pipeline_outcome("churn-training", status="Succeeded", duration_seconds=600)

    retrain = cloud.state_machine_arn("RetrainStateMachine")
    sfn = cloud.client("stepfunctions")
    cloud.record("story", "An operator asks for a retrain of a model that does not exist")
    bad_request = {"model": "churm", "dataset_uri": f"s3://{bucket}/datasets/churn/2026-11-27/", "reason": "manual"}
    cloud.record("operator", f"start-execution --input '{json.dumps(bad_request)}'")
    sfn.start_execution(stateMachineArn=retrain, name="manual-typo", input=json.dumps(bad_request))
    cloud.settle()

    cloud.record("story", "An operator re-trains churn on the same dataset on purpose (a new run_key)")
    rerun = {
        "model": "churn",
        "dataset_uri": f"s3://{bucket}/datasets/churn/2026-11-27/",
        "reason": "manual: new feature set",
        "run_key": "features-v2",
    }
    cloud.record("operator", f"start-execution --input '{json.dumps(rerun)}'")
    sfn.start_execution(stateMachineArn=retrain, name="manual-rerun-features-v2", input=json.dumps(rerun))
    cloud.advance(15 * 60)
    deployment_story(cloud)
    drift_story(cloud)


def bias_metrics_section(s3: Any, bucket: str, key_prefix: str, dppl: float, di: float = 1.0) -> dict[str, Any]:
    """What a pipeline's Clarify step registers: a post-training bias report (facet `gender`, the JSON shape of
    SageMaker Clarify's analysis, "Bias report shape" in the project's AWS facts) in the data bucket, as the
    package's `ModelMetrics.Bias` section."""
    report = {
        "post_training_bias_metrics": {
            "label": "churned",
            "label_value_or_threshold": "1",
            "facets": {
                "gender": [
                    {
                        "value_or_threshold": "F",
                        "metrics": [
                            {"name": "DPPL", "description": "Difference in positive proportions", "value": dppl},
                            {"name": "DI", "description": "Disparate impact", "value": di},
                        ],
                    }
                ]
            },
        }
    }
    key = f"{key_prefix}/bias.json"
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(report).encode())
    return {"PostTrainingReport": {"ContentType": "application/json", "S3Uri": f"s3://{bucket}/{key}"}}


def register_model_version(cloud: LocalCloud, auc: float, dppl: float = 0.02) -> str:
    """What the training pipeline's RegisterModel step does: a package with its evaluation and bias metrics."""
    key = f"controlplane/evaluations/churn-auc-{auc}.json"
    statistics = {"binary_classification_metrics": {"auc": {"value": auc}}}
    cloud.client("s3").put_object(Bucket=cloud.data_bucket, Key=key, Body=json.dumps(statistics).encode())
    prefix = f"controlplane/evaluations/churn-auc-{auc}-dppl-{dppl}"
    bias = bias_metrics_section(cloud.client("s3"), cloud.data_bucket, prefix, dppl)
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:latest"
    return str(
        cloud.client("sagemaker").create_model_package(
            ModelPackageGroupName="churn-models",
            InferenceSpecification={
                "Containers": [{"Image": image}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            ModelMetrics={
                "ModelQuality": {
                    "Statistics": {"ContentType": "application/json", "S3Uri": f"s3://{cloud.data_bucket}/{key}"}
                },
                "Bias": bias,
            },
            ModelApprovalStatus="PendingManualApproval",
        )["ModelPackageArn"]
    )


def deployment_story(cloud: LocalCloud) -> None:
    sagemaker = cloud.client("sagemaker")
    deploy = cloud.state_machine_arn("DeployStateMachine")
    cloud.record("story", "The churn model's version 1 (AUC 0.91) is registered and approved in the Model Registry")
    version_1 = register_model_version(cloud, 0.91)
    cloud.settle()
    cloud.record("operator", f"update-model-package --model-package-arn {version_1} --model-approval-status Approved")
    sagemaker.update_model_package(ModelPackageArn=version_1, ModelApprovalStatus="Approved")
    cloud.advance(10 * 60)

    cloud.record("story", "A metadata edit of the approved version 1 must not redeploy it")
    sagemaker.update_model_package(ModelPackageArn=version_1, CustomerMetadataProperties={"owner": "churn-team"})
    cloud.settle()

    cloud.record("story", "After 30 minutes of baking in staging, an operator promotes version 1 to prod")
    cloud.advance(25 * 60)
    promotion = {"model_package_arn": version_1, "stage": "prod", "requested_by": "alice"}
    cloud.record("operator", f"start-execution (deploy) --input '{json.dumps(promotion)}'")
    cloud.client("stepfunctions").start_execution(
        stateMachineArn=deploy, name="promote-churn-v1-prod", input=json.dumps(promotion)
    )
    cloud.advance(15 * 60)

    cloud.record("story", "Version 2 (AUC 0.92) is approved; its canary trips the 5xx alarm and SageMaker rolls back")
    extensions.set_endpoint_outcome(
        "churn-staging", "rollback", failure_reason="Alarm churn-staging-5xx-errors went to ALARM during baking"
    )
    version_2 = register_model_version(cloud, 0.92)
    sagemaker.update_model_package(ModelPackageArn=version_2, ModelApprovalStatus="Approved")
    cloud.advance(20 * 60)


def _promote(cloud: LocalCloud, package_arn: str, name: str) -> None:
    promotion = {"model_package_arn": package_arn, "stage": "prod", "requested_by": "alice"}
    cloud.record("operator", f"start-execution (deploy) --input '{json.dumps(promotion)}'")
    cloud.client("stepfunctions").start_execution(
        stateMachineArn=cloud.state_machine_arn("DeployStateMachine"), name=name, input=json.dumps(promotion)
    )


def _flap(cloud: LocalCloud, alarm_name: str, times: int) -> None:
    for _ in range(times):
        extensions.raise_alarm(alarm_name, "ALARM", reason="Threshold Crossed: 1 datapoint [0.31] > 0.2")
        cloud.advance(4 * 60)
        extensions.raise_alarm(alarm_name, "OK", reason="Threshold Crossed: 1 datapoint [0.12] <= 0.2")
        cloud.advance(4 * 60)


def drift_story(cloud: LocalCloud) -> None:
    cloudwatch = cloud.client("cloudwatch")
    for alarm_name, metric in (
        ("churn-prod-feature-drift", "feature_baseline_drift_age"),
        ("churn-prod-auc-drop", "auc"),
    ):
        cloudwatch.put_metric_alarm(
            AlarmName=alarm_name,
            Namespace="aws/sagemaker/Endpoints/data-metrics",
            MetricName=metric,
            Dimensions=[
                {"Name": "Endpoint", "Value": "churn-prod"},
                {"Name": "MonitoringSchedule", "Value": "churn-prod"},
            ],
            Statistic="Maximum",
            Period=3600,
            EvaluationPeriods=1,
            Threshold=0.2,
            ComparisonOperator="GreaterThanThreshold",
        )
    cloud.record("story", "Model Monitor finds data drift on churn-prod (feature 'age'): the model is retrained")
    extensions.emit_monitoring_run(
        "churn-prod",
        "churn-prod-data-quality",
        violations=[
            {
                "feature_name": "age",
                "constraint_check_type": "baseline_drift_check",
                "description": "Baseline drift distance: 0.31 exceeds threshold: 0.2",
            },
        ],
        bucket=cloud.data_bucket,
    )
    cloud.advance(20 * 60)

    cloud.record("story", "Version 3 (AUC 0.93) is approved, deployed to staging and promoted to prod after baking")
    extensions.set_endpoint_outcome("churn-staging", "succeed")
    version_3 = register_model_version(cloud, 0.93)
    cloud.client("sagemaker").update_model_package(ModelPackageArn=version_3, ModelApprovalStatus="Approved")
    cloud.advance(41 * 60)  # 10 minutes of deployment, then 30 of baking
    _promote(cloud, version_3, "promote-churn-v3-prod")
    cloud.advance(20 * 60)

    cloud.record("story", "An hour later, churn-prod's AUC drops: version 3 is fresh, so prod rolls back to version 1")
    extensions.raise_alarm("churn-prod-auc-drop", "ALARM", reason="Threshold Crossed: 1 datapoint [0.62] < 0.75")
    cloud.advance(20 * 60)
    extensions.raise_alarm("churn-prod-auc-drop", "OK", reason="Threshold Crossed: 1 datapoint [0.90] >= 0.75")
    cloud.settle()

    cloud.advance(6 * 60 * 60)  # the data-drift incident's window closes
    cloud.record("story", "The drift alarm flaps three times: one incident; the retrain cooldown asks a human")
    _flap(cloud, "churn-prod-feature-drift", 3)
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
