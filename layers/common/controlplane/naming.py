"""Deterministic names: the same dataset or cause always maps to the same execution, token and display name,
so a duplicate event or a repeated request can never start a second run; and the keys read off a package's ARN."""

import hashlib
import re
from datetime import datetime

from controlplane.clock import iso
from controlplane.ports import DeploymentLedger, DriftLedger


def digest(*parts: str, length: int = 64) -> str:
    """A stable hex digest of the parts: the unique suffix of every deterministic name."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:length]


def _slug(text: str, limit: int) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:limit].strip("-") or "dataset"


def _dataset_label(dataset_uri: str, limit: int) -> str:
    """The most specific whole words of the dataset's key, e.g. 'datasets/fraud/2026/11/27/' -> 'fraud-2026-11-27'."""
    words = _slug(dataset_uri.removeprefix("s3://").partition("/")[2], 1_000).split("-")
    label = ""
    for word in reversed(words):
        candidate = f"{word}-{label}" if label else word
        if len(candidate) > limit:
            break
        label = candidate
    return label or words[-1][-limit:] or "dataset"


def run_identity(model: str, dataset_uri: str, run_key: str | None) -> str:
    """What makes a training run unique: the model, the dataset, and an operator's optional run key."""
    return digest(model, dataset_uri.rstrip("/") + "/", run_key or "")


def retrain_execution_name(model: str, dataset_uri: str, run_key: str | None = None) -> str:
    """Step Functions execution name (at most 80 characters of [A-Za-z0-9-_])."""
    identity = run_identity(model, dataset_uri, run_key)
    return f"retrain-{model}-{_dataset_label(dataset_uri, 20)}-{identity[:16]}"


def pipeline_request_token(model: str, dataset_uri: str, run_key: str | None = None) -> str:
    """SageMaker ClientRequestToken (32-128 characters): the same run never starts twice."""
    return run_identity(model, dataset_uri, run_key)


def pipeline_display_name(model: str, dataset_uri: str, run_key: str | None = None) -> str:
    """SageMaker PipelineExecutionDisplayName: at most 82 of [a-zA-Z0-9-], starting alphanumeric."""
    identity = run_identity(model, dataset_uri, run_key)
    return f"{_slug(model, 20)}-{_dataset_label(dataset_uri, 40)}-{identity[:12]}"


def rollback_execution_name(endpoint: str, cause: str) -> str:
    """The rollback workflow's execution for one cause (an incident, a rejection): one per cause."""
    return f"rollback-{endpoint[:50]}-{digest(endpoint, cause, length=12)}"


def deploy_execution_name(stage: str, model: str, package_arn: str, cause: str) -> str:
    """One deployment of a version to a stage per cause: an approval of the package, or the deployment it is
    promoted from. Step Functions refuses a used name for 90 days, so each new cause needs a new name."""
    readable = f"deploy-{stage}-{model}-v{package_version(package_arn)}"[:67]
    return f"{readable}-{digest(package_arn, cause, length=12)}"


def approval_deploy_execution_name(stage: str, model: str, package_arn: str, approved_at: datetime) -> str:
    """The deployment of the approval made at `approved_at` (its LastModifiedTime): every copy of its event
    maps here, and a later approval of the same version gets a name of its own."""
    return deploy_execution_name(stage, model, package_arn, f"approved:{iso(approved_at)}")


def rejection_rollback_execution_name(endpoint: str, package_arn: str, rejected_at: datetime) -> str:
    return rollback_execution_name(endpoint, f"rejected:{package_arn}:{iso(rejected_at)}")


# SageMaker names start with the model's or the endpoint's name: the template's IAM allows the control plane to
# create only resources named after the models it manages (template parameter ManagedModelNames).
def sagemaker_model_name(model: str, version: int, package_arn: str) -> str:
    """The SageMaker model serving one package version (at most 63 characters)."""
    return f"{model}-v{version}-{digest(package_arn, length=8)}"


def endpoint_config_name(endpoint: str, version: int, package_arn: str, fleet: str) -> str:
    """One package version on one fleet (instance type, count, variant) of an endpoint (at most 63 characters)."""
    return f"{endpoint[:40]}-v{version}-{digest(package_arn, fleet, length=8)}"


def model_card_name(model: str, version: int, package_arn: str) -> str:
    """The SageMaker Model Card of one package version (at most 63 characters)."""
    return f"{model}-card-v{version}-{digest(package_arn, 'card', length=8)}"


def training_lineage(retrain_execution: str) -> str:
    """The lineage key of a training run and of the version it registers: its retrain execution's name (or ARN)."""
    return f"training/{retrain_execution.rsplit(':', 1)[-1]}"


def package_lineage(package_arn: str) -> str:
    """The lineage key of a version the control plane did not train: its group and version."""
    return "package/" + "/".join(package_arn.rsplit("/", 2)[-2:])


def version_lineage(package_arn: str, generated_by: str | None, ledger: DeploymentLedger) -> str:
    """The version's lineage key: the training run of the pipeline execution that registered it (GeneratedBy), when
    the control plane started it; otherwise the package's own."""
    run = ledger.get_pipeline_run(generated_by) if generated_by else None
    return training_lineage(run.execution_arn) if run else package_lineage(package_arn)


def serving_lineage(endpoint: str, ledger: DriftLedger) -> str | None:
    """The lineage key of the version the endpoint serves: an incident and its response belong to its story."""
    state = ledger.get_endpoint_state(endpoint)
    if state is None or state.serving_package_arn is None:
        return None
    return (
        state.serving_lineage
        or ledger.package_lineage(state.serving_package_arn)
        or package_lineage(state.serving_package_arn)
    )


def package_version(package_arn: str) -> int:
    return int(package_arn.rsplit("/", 1)[1])


def package_group(package_arn: str) -> str:
    return package_arn.split(":model-package/", 1)[1].rsplit("/", 1)[0]
