"""Scenario steps: what data teams, reviewers, operators, detectors and AWS do to the control plane in a local cloud.

One library for `make demo` (localcloud/demo.py), the fault matrix (localcloud/faults.py) and the end-to-end tests
(tests/e2e): a step does one thing a person or a service does, through the same APIs they would use. A step does
not let time pass unless its docstring says so (`cloud.settle()` / `cloud.advance()` are the caller's choice).
What the tests read back out of a cloud lives in tests/e2e/support.py and localcloud/report.py.
"""

import json
import uuid
from typing import Any

from localcloud.cloud import ACCOUNT_ID, REGION, LocalCloud
from localcloud.emulations.monitoring import MonitoringRun

RETRAIN = "RetrainStateMachine"
DEPLOY = "DeployStateMachine"
DRIFT = "DriftStateMachine"
DECISION = "DecisionStateMachine"
CHURN_GROUP = "churn-models"
MODEL_IMAGE = f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/churn:1"
PROD = "churn-prod"
FEATURE_DRIFT = "churn-prod-feature-drift"
AUC_DROP = "churn-prod-auc-drop"


# -- data arrival -------------------------------------------------------------------------------------------


def upload_dataset(
    cloud: LocalCloud, prefix: str, parts: int = 1, marker: str | None = "_SUCCESS", body: bytes = b"rows" * 100
) -> str:
    """A data team's upload under `prefix` (e.g. datasets/churn/2026-11-27/): `parts` Parquet files, then the
    completion marker (None: no marker, for quiet-period models). Returns the dataset's S3 URI."""
    for part in range(parts):
        cloud.put_object(f"{prefix}part-{part:04d}.parquet", body)
    if marker is not None:
        cloud.put_object(prefix + marker, b"")
    return f"s3://{cloud.data_bucket}/{prefix}"


def train_dataset(cloud: LocalCloud, prefix: str) -> str:
    """A one-part dataset completed by its _SUCCESS marker, run until its training ended; returns its URI."""
    uri = upload_dataset(cloud, prefix)
    cloud.settle()
    return uri


# -- operators ----------------------------------------------------------------------------------------------


def start_execution(cloud: LocalCloud, state_machine: str, name: str, request: Any) -> None:
    """An operator's StartExecution on one of the stack's state machines (its logical id), on the timeline."""
    cloud.record("operator", f"start-execution ({state_machine}) --name {name} --input '{json.dumps(request)}'")
    cloud.client("stepfunctions").start_execution(
        stateMachineArn=cloud.state_machine_arn(state_machine), name=name, input=json.dumps(request)
    )


def run_execution(cloud: LocalCloud, state_machine: str, name: str, request: Any) -> None:
    """`start_execution`, then everything it starts runs to its end on the virtual clock."""
    start_execution(cloud, state_machine, name, request)
    cloud.settle()


def promote(cloud: LocalCloud, package_arn: str, name: str, stage: str = "prod", requested_by: str = "alice") -> None:
    """An operator asks the deploy workflow to promote a version to `stage` (not settled)."""
    request = {"model_package_arn": package_arn, "stage": stage, "requested_by": requested_by}
    start_execution(cloud, DEPLOY, name, request)


# -- model registry -----------------------------------------------------------------------------------------


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


def register_model_package(
    cloud: LocalCloud, auc: float, group: str = CHURN_GROUP, dppl: float = 0.02, generated_by: str | None = None
) -> str:
    """What a training pipeline's RegisterModel step does: a new version in `group`, PendingManualApproval, whose
    registered ModelQuality statistics (a JSON document in the data bucket, under the control plane's own output
    prefix) say AUC = `auc`, and whose post-training bias report says DPPL = `dppl` (DI = 1) for facet gender;
    `generated_by`: the pipeline execution that registered it (MetadataProperties.GeneratedBy). Returns its ARN."""
    lineage = {"MetadataProperties": {"GeneratedBy": generated_by}} if generated_by else {}
    folder = f"controlplane/evaluations/{group}/{uuid.uuid4().hex}"
    key = f"{folder}/statistics.json"
    statistics = {"binary_classification_metrics": {"auc": {"value": auc}}}
    cloud.client("s3").put_object(Bucket=cloud.data_bucket, Key=key, Body=json.dumps(statistics).encode())
    return str(
        cloud.client("sagemaker").create_model_package(
            ModelPackageGroupName=group,
            InferenceSpecification={
                "Containers": [{"Image": MODEL_IMAGE}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            ModelMetrics={
                "ModelQuality": {
                    "Statistics": {"ContentType": "application/json", "S3Uri": f"s3://{cloud.data_bucket}/{key}"}
                },
                "Bias": bias_metrics_section(cloud.client("s3"), cloud.data_bucket, folder, dppl),
            },
            ModelApprovalStatus="PendingManualApproval",
            **lineage,
        )["ModelPackageArn"]
    )


def set_approval(cloud: LocalCloud, package_arn: str, status: str = "Approved") -> None:
    """UpdateModelPackage with only ModelApprovalStatus, as a reviewer does in the Model Registry (no settle)."""
    cloud.record("operator", f"update-model-package --model-package-arn {package_arn} --model-approval-status {status}")
    cloud.client("sagemaker").update_model_package(ModelPackageArn=package_arn, ModelApprovalStatus=status)


def approve(cloud: LocalCloud, package_arn: str) -> None:
    """Approve the version and let everything it starts run to its end on the virtual clock."""
    set_approval(cloud, package_arn, "Approved")
    cloud.settle()


def deploy_new_version(cloud: LocalCloud, auc: float) -> str:
    """Register a version and approve it; returns its ARN once its deployment ended (however it ended)."""
    package_arn = register_model_package(cloud, auc)
    cloud.settle()
    approve(cloud, package_arn)
    return package_arn


# -- drift signals ------------------------------------------------------------------------------------------


# What a Model Monitor schedule's alarm watches, by kind: namespace, metric, schedule suffix, statistic, threshold,
# comparison.
_MONITOR_ALARMS = {
    "data_drift": (
        "data-metrics",
        "feature_baseline_drift_age",
        "data-quality",
        "Maximum",
        0.1,
        "GreaterThanThreshold",
    ),
    "model_quality": ("model-metrics", "auc", "model-quality", "Average", 0.75, "LessThanThreshold"),
}


def create_monitor_alarm(cloud: LocalCloud, kind: str, name: str, endpoint: str = PROD) -> None:
    """The CloudWatch alarm on a Model Monitor schedule's metric of `endpoint` (settled): `data_drift` (feature
    'age' drift distance over 0.1) or `model_quality` (AUC under 0.75)."""
    namespace, metric, schedule, statistic, threshold, comparison = _MONITOR_ALARMS[kind]
    cloud.client("cloudwatch").put_metric_alarm(
        AlarmName=name,
        Namespace=f"aws/sagemaker/Endpoints/{namespace}",
        MetricName=metric,
        Dimensions=[
            {"Name": "Endpoint", "Value": endpoint},
            {"Name": "MonitoringSchedule", "Value": f"{endpoint}-{schedule}"},
        ],
        Statistic=statistic,
        Period=3600,
        EvaluationPeriods=1,
        Threshold=threshold,
        ComparisonOperator=comparison,
    )
    cloud.settle()


def create_feature_drift_alarm(cloud: LocalCloud, name: str = FEATURE_DRIFT, endpoint: str = PROD) -> None:
    """The alarm a Model Monitor data-quality schedule's drift metric for feature 'age' would carry (settled)."""
    create_monitor_alarm(cloud, "data_drift", name, endpoint)


def create_auc_drop_alarm(cloud: LocalCloud, name: str = AUC_DROP, endpoint: str = PROD) -> None:
    """The alarm on a Model Monitor model-quality schedule's AUC (settled)."""
    create_monitor_alarm(cloud, "model_quality", name, endpoint)


def flap_alarm(cloud: LocalCloud, name: str, times: int, seconds_between: float = 4 * 60) -> None:
    """An alarm that goes to ALARM and back to OK `times` times, `seconds_between` apart (time passes)."""
    for _ in range(times):
        cloud.extensions.monitoring.raise_alarm(name, "ALARM", reason="Threshold Crossed: 1 datapoint [0.31] > 0.2")
        cloud.advance(seconds_between)
        cloud.extensions.monitoring.raise_alarm(name, "OK", reason="Threshold Crossed: 1 datapoint [0.12] <= 0.2")
        cloud.advance(seconds_between)


def report_feature_drift(
    cloud: LocalCloud, endpoint: str, feature: str, distance: float, threshold: float, schedule: str | None = None
) -> MonitoringRun:
    """A Model Monitor data-quality run on `endpoint` that found `feature` drifted (report in the data bucket)."""
    violation = {
        "feature_name": feature,
        "constraint_check_type": "baseline_drift_check",
        "description": f"Baseline drift distance: {distance} exceeds threshold: {threshold}",
    }
    return cloud.extensions.monitoring.emit_monitoring_run(
        endpoint, schedule or f"{endpoint}-data-quality", violations=[violation], bucket=cloud.data_bucket
    )


def control_plane_bus(cloud: LocalCloud) -> str:
    """The name of the stack's own event bus, where detectors put "Drift Detected" events."""
    return cloud.physical["ControlPlaneBus"]["Name"]


def put_drift_detected(cloud: LocalCloud, detail: dict[str, Any], source: str = "custom.evidently") -> None:
    """A detector's "Drift Detected" event on the control-plane bus, sent with PutEvents (no settle)."""
    response = cloud.client("events").put_events(
        Entries=[
            {
                "Source": source,
                "DetailType": "Drift Detected",
                "Detail": json.dumps(detail),
                "EventBusName": control_plane_bus(cloud),
            }
        ]
    )
    if response["FailedEntryCount"]:
        raise RuntimeError(f"PutEvents refused the drift event: {response['Entries']}")


def answer_decision(cloud: LocalCloud, name: str, answer: Any) -> None:
    """An operator's answer to a "Drift Decision Requested": StartExecution on the decision state machine, run until
    nothing but timers is left (the drift workflow it resumes included)."""
    start_execution(cloud, DECISION, name, answer)
    cloud.settle(fire_timers=False)
