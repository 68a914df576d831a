"""SageMaker hosting and model registry for the local cloud: endpoint lifecycles, blue/green updates, registry
events, InvokeEndpoint responses and throttling, all on the virtual clock.

moto 5.2.5 creates endpoints InService at once, has no UpdateEndpoint, emits no SageMaker EventBridge events,
loses a model package's approval status and metadata on every UpdateModelPackage, and cannot be told to throttle.
The patches below close those gaps, following the AWS documentation (see /work/shared/AWS-FACTS.md):

- CreateEndpoint leaves the endpoint `Creating`; after `creation_seconds` of virtual time it is `InService` (or
  `Failed`, when scripted with `set_endpoint_creation`).
- UpdateEndpoint validates like AWS (DeploymentConfig included), sets `Updating`, and after the scripted duration
  ends as `set_endpoint_outcome` says: the new config `InService`, or the OLD config `InService` (failed update,
  alarm rollback, silent rollback) or `UpdateRollbackFailed`. A failed update is not `Failed`: the SageMaker API
  reference documents FailureReason for "the status is InService but update operation fails", and `Failed` as
  an endpoint only DeleteEndpoint accepts. The duration stands for the whole deployment
  (canary, linear steps, baking): it is a knob of the simulation, NOT a property of the DeploymentConfig, so
  control-plane code must never depend on it (benchmarks run the same flows with 60 s and 3600 s bakes).
- "SageMaker Endpoint State Change" on every endpoint status transition, "SageMaker Endpoint Deployment State
  Change" when an update starts and ends, "SageMaker Model Package State Change" on CreateModelPackage and
  UpdateModelPackage (optionally duplicated, as SageMaker may send several events for one change). All go to
  the default bus through `ExtensionRegistry.put_service_event`, as the pipeline events do.
- `inject_sagemaker_throttling`: the next N calls of one SageMaker (or SageMaker Runtime) operation fail with
  ThrottlingException, whoever calls (boto3 in a handler, or Step Functions' SDK integrations).
- InvokeEndpoint answers with a scripted body (`set_endpoint_response`), raises ValidationError for endpoints
  that cannot serve (missing, Creating, Failed), and ModelError for a scripted non-2xx container status.
- CreateModel, CreateEndpointConfig and CreateEndpoint refuse an existing name, and CreateModel an unknown
  ModelPackageName, as AWS does (moto silently replaces or accepts them).

`install(registry)` applies the patches and returns the `SageMakerEndpoints` whose methods script them (`set_*`,
`inject_sagemaker_throttling`); `registry.uninstall()` cancels in-flight deployments and undoes every patch.
"""

from __future__ import annotations

import base64
import copy
import json
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast, get_args
from urllib.parse import unquote

from moto.core.common_types import TYPE_RESPONSE
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult, BaseResponse
from moto.core.utils import get_service_model
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import (
    FakeEndpoint,
    FakeEndpointConfig,
    ModelPackage,
    SageMakerModelBackend,
    sagemaker_backends,
)
from moto.sagemaker.responses import SageMakerResponse
from moto.sagemaker.utils import arn_formatter, validate_model_approval_status
from moto.sagemakerruntime.models import SageMakerRuntimeBackend
from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

from localcloud.core import ExtensionRegistry, epoch_millis, iso_seconds, naive_utc, plain

__all__ = [
    "DEFAULT_BAKE_SECONDS",
    "DEFAULT_CREATION_SECONDS",
    "CreationOutcome",
    "EndpointOutcome",
    "EndpointScript",
    "SageMakerEndpoints",
    "install",
]

EndpointOutcome = Literal["succeed", "fail", "rollback", "silent_rollback", "update_rollback_failed"]
CreationOutcome = Literal["succeed", "fail"]

DEFAULT_CREATION_SECONDS = 300.0
# Virtual seconds an UpdateEndpoint takes, whatever its DeploymentConfig says: see the module docstring.
DEFAULT_BAKE_SECONDS = 600.0

_DEFAULT_FAILURE_REASON = (
    "The primary container for production variant {variant} did not pass the ping health check. "
    "Please check CloudWatch logs for this endpoint. (Outcome scripted by the local cloud.)"
)
_DEFAULT_ROLLBACK_FAILED_REASON = (
    "Auto-rollback of the deployment failed; the endpoint is serving a mix of the old and new endpoint "
    "configurations. (Outcome scripted by the local cloud.)"
)

# DescribeEndpoint spelling -> EventBridge spelling.
_EVENT_STATUS = {
    "OutOfService": "OUT_OF_SERVICE",
    "Creating": "CREATING",
    "Updating": "UPDATING",
    "SystemUpdating": "SYSTEM_UPDATING",
    "RollingBack": "ROLLING_BACK",
    "InService": "IN_SERVICE",
    "Deleting": "DELETING",
    "Failed": "FAILED",
    "UpdateRollbackFailed": "UPDATE_ROLLBACK_FAILED",
}
_IN_PROGRESS_STATUSES = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})
# InvokeEndpoint works while an endpoint serves traffic: blue/green updates keep the old fleet serving.
_INVOCABLE_STATUSES = frozenset({"InService", "Updating", "SystemUpdating", "RollingBack", "UpdateRollbackFailed"})
_THROTTLED_SERVICES = ("sagemaker", "sagemaker-runtime")


@dataclass(frozen=True)
class EndpointScript:
    """How the local cloud ends the next CreateEndpoint or UpdateEndpoint of one endpoint."""

    outcome: EndpointOutcome = "succeed"
    duration_seconds: float = DEFAULT_BAKE_SECONDS
    failure_reason: str | None = None


@dataclass(frozen=True)
class _ScriptedResponse:
    body: bytes
    status: int
    content_type: str


@dataclass
class _Deployment:
    """An in-flight CreateEndpoint or UpdateEndpoint."""

    kind: Literal["create", "update"]
    endpoint: FakeEndpoint
    backend: SageMakerModelBackend
    target_config_name: str
    target_variants: list[dict[str, Any]]
    target_instance_types: dict[str, str]
    target_data_capture: Any
    deployment_config: dict[str, Any] | None
    script: EndpointScript
    started: datetime
    timer: Any = None  # the clock's TimerHandle


class SageMakerThrottlingException(ServiceException):
    """What SageMaker returns when a caller exceeds an API's rate (HTTP 400, code ThrottlingException)."""

    code = "ThrottlingException"
    message = "Rate exceeded"


class _RuntimeValidationError(ServiceException):
    code = "ValidationError"  # SageMaker Runtime's spelling, unlike SageMaker's ValidationException


class _ModelError(ServiceException):
    """InvokeEndpoint's error when the model container answers with a non-2xx status (HTTP 424)."""

    code = "ModelError"

    def __init__(self, message: str, original_status_code: int, original_message: str, log_stream_arn: str):
        super().__init__(message)
        # Attribute names are the error shape's members: moto's serializer reads them from the exception.
        self.OriginalStatusCode = original_status_code
        self.OriginalMessage = original_message
        self.LogStreamArn = log_stream_arn


class SageMakerEndpoints:
    """The hosting and registry emulation of one local cloud: scripts, in-flight deployments, fault injections.

    The `set_*` and `inject_*` methods are how tests, the demo and benchmarks script SageMaker's behaviour.
    """

    def __init__(self, registry: ExtensionRegistry) -> None:
        self.registry = registry
        self.lock = threading.RLock()
        self.creation_seconds = DEFAULT_CREATION_SECONDS
        self.bake_seconds = DEFAULT_BAKE_SECONDS
        self.creation_scripts: dict[str, EndpointScript] = {}
        self.update_scripts: dict[str, EndpointScript] = {}
        self.deployments: dict[str, _Deployment] = {}  # endpoint ARN -> in-flight deployment
        self.last_deployment_configs: dict[str, dict[str, Any]] = {}  # endpoint ARN -> LastDeploymentConfig
        self.responses: dict[str, _ScriptedResponse] = {}
        self.throttles: dict[str, int] = {}
        self.model_package_event_copies = 1

    def set_endpoint_creation(
        self,
        endpoint_name: str,
        outcome: CreationOutcome = "succeed",
        duration_seconds: float | None = None,
        failure_reason: str | None = None,
    ) -> None:
        """Script the NEXT CreateEndpoint of `endpoint_name` (later ones revert to succeeding).

        "succeed": InService after `duration_seconds` (default: `creation_seconds`, 300 s unless changed);
        "fail": Failed with `failure_reason` (a health-check failure message by default).
        """
        if outcome not in get_args(CreationOutcome):
            raise ValueError(f"Endpoint creation outcome must be one of {get_args(CreationOutcome)}, got {outcome!r}")
        with self.lock:
            seconds = self.creation_seconds if duration_seconds is None else _non_negative(duration_seconds)
            self.creation_scripts[endpoint_name] = EndpointScript(outcome, seconds, failure_reason)

    def set_endpoint_outcome(
        self,
        endpoint_name: str,
        outcome: EndpointOutcome = "succeed",
        duration_seconds: float | None = None,
        failure_reason: str | None = None,
    ) -> None:
        """Script the NEXT UpdateEndpoint of `endpoint_name` (later ones revert to succeeding).

        The update stays Updating for `duration_seconds` (default: `bake_seconds`, 600 s unless changed), then:
        "succeed": InService on the new config; "fail": InService on the OLD config with a FailureReason (what AWS
        does when the new fleet does not come up); "rollback": InService on the OLD config, FailureReason naming
        the first AutoRollbackConfiguration alarm; "silent_rollback": InService on the OLD config with no
        FailureReason; "update_rollback_failed": UpdateRollbackFailed. `failure_reason` overrides the generated
        reason.
        """
        if outcome not in get_args(EndpointOutcome):
            raise ValueError(f"Endpoint update outcome must be one of {get_args(EndpointOutcome)}, got {outcome!r}")
        with self.lock:
            seconds = self.bake_seconds if duration_seconds is None else _non_negative(duration_seconds)
            self.update_scripts[endpoint_name] = EndpointScript(outcome, seconds, failure_reason)

    def set_endpoint_defaults(
        self, creation_seconds: float = DEFAULT_CREATION_SECONDS, bake_seconds: float = DEFAULT_BAKE_SECONDS
    ) -> None:
        """Virtual durations of unscripted CreateEndpoint / UpdateEndpoint calls, for every endpoint."""
        with self.lock:
            self.creation_seconds = _non_negative(creation_seconds)
            self.bake_seconds = _non_negative(bake_seconds)

    def set_endpoint_response(
        self, endpoint_name: str, body: bytes, status: int = 200, content_type: str = "application/json"
    ) -> None:
        """What InvokeEndpoint on `endpoint_name` returns from now on: `body` for a 2xx `status`, else ModelError."""
        if not 100 <= status <= 599:
            raise ValueError(f"status must be an HTTP status code, got {status}")
        with self.lock:
            self.responses[endpoint_name] = _ScriptedResponse(bytes(body), status, content_type)

    def inject_sagemaker_throttling(self, operation_name: str, times: int) -> None:
        """Fail the next `times` calls of a SageMaker or SageMaker Runtime operation (e.g. "UpdateEndpoint",
        "DescribeModelPackage", "InvokeEndpoint") with ThrottlingException (HTTP 400). Calls add up."""
        if times < 0:
            raise ValueError(f"times must not be negative, got {times}")
        known = {name for service in _THROTTLED_SERVICES for name in get_service_model(service).operation_names}
        if operation_name not in known:
            raise ValueError(
                f"{operation_name!r} is not a SageMaker or SageMaker Runtime operation; use the API name as AWS "
                "spells it, e.g. 'UpdateEndpoint' or 'DescribeModelPackage'"
            )
        with self.lock:
            self.throttles[operation_name] = self.throttles.get(operation_name, 0) + times

    def set_duplicate_model_package_events(self, count: int = 1) -> None:
        """Send each "SageMaker Model Package State Change" event `count` times (AWS may send several)."""
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count}")
        with self.lock:
            self.model_package_event_copies = count

    def take_script(self, kind: Literal["create", "update"], endpoint_name: str) -> EndpointScript:
        with self.lock:
            if kind == "create":
                return self.creation_scripts.pop(endpoint_name, EndpointScript(duration_seconds=self.creation_seconds))
            return self.update_scripts.pop(endpoint_name, EndpointScript(duration_seconds=self.bake_seconds))

    def consume_throttle(self, operation_name: str) -> bool:
        with self.lock:
            remaining = self.throttles.get(operation_name, 0)
            if remaining <= 0:
                return False
            self.throttles[operation_name] = remaining - 1
            return True

    def cancel_deployments(self) -> None:
        """Forget in-flight deployments and their timers (the local cloud is closing)."""
        with self.lock:
            for deployment in self.deployments.values():
                if deployment.timer is not None:
                    deployment.timer.cancel()
            self.deployments.clear()


def _non_negative(seconds: float) -> float:
    if seconds < 0:
        raise ValueError(f"durations must not be negative, got {seconds}")
    return float(seconds)


def install(registry: ExtensionRegistry) -> SageMakerEndpoints:
    """Apply the SageMaker hosting and registry patches (undone by `registry.uninstall()`); returns where their
    behaviour is scripted."""
    endpoints = SageMakerEndpoints(registry)
    registry.on_uninstall(endpoints.cancel_deployments)
    for patch in _PATCHES:
        patch(endpoints)
    return endpoints


def _endpoint_arn(backend: SageMakerModelBackend, endpoint_name: str) -> str:
    return FakeEndpoint.arn_formatter(endpoint_name, backend.account_id, backend.region_name)


def _config_arn(backend: SageMakerModelBackend, config_name: str) -> str:
    return FakeEndpointConfig.arn_formatter(config_name, backend.account_id, backend.region_name)


def _variant_summaries(config: FakeEndpointConfig) -> list[dict[str, Any]]:
    """DescribeEndpoint's ProductionVariants for a fleet that runs `config` as configured."""
    summaries = []
    for variant in config.production_variants:
        summary: dict[str, Any] = {"VariantName": variant["VariantName"]}
        weight = float(variant.get("InitialVariantWeight", 1.0))
        summary["CurrentWeight"] = summary["DesiredWeight"] = weight
        if "InitialInstanceCount" in variant:
            summary["CurrentInstanceCount"] = summary["DesiredInstanceCount"] = int(variant["InitialInstanceCount"])
        if "ServerlessConfig" in variant:
            summary["CurrentServerlessConfig"] = summary["DesiredServerlessConfig"] = variant["ServerlessConfig"]
        summaries.append(summary)
    return summaries


def _instance_count(config: FakeEndpointConfig) -> int:
    return sum(int(variant.get("InitialInstanceCount", 0)) for variant in config.production_variants)


def _tags_map(endpoint: FakeEndpoint) -> dict[str, str]:
    return {tag["Key"]: tag.get("Value", "") for tag in endpoint.tags or []}


# -- EventBridge --------------------------------------------------------------------------------------------


def _endpoint_detail(endpoint: FakeEndpoint) -> dict[str, Any]:
    """The detail of "SageMaker Endpoint State Change", as in the AWS documentation's example."""
    detail: dict[str, Any] = {
        "EndpointName": endpoint.endpoint_name,
        "EndpointArn": endpoint.arn,
        "EndpointConfigName": endpoint.endpoint_config_name,
        "ProductionVariants": plain(endpoint.production_variants),
        "EndpointStatus": _EVENT_STATUS.get(endpoint.endpoint_status, endpoint.endpoint_status.upper()),
        "CreationTime": epoch_millis(endpoint.creation_time),
        "LastModifiedTime": epoch_millis(endpoint.last_modified_time),
    }
    reason = _failure_reason_of(endpoint)
    if reason:
        detail["FailureReason"] = reason
    detail["Tags"] = _tags_map(endpoint)
    return detail


def _pending_variants(deployment: _Deployment, epoch: bool) -> list[dict[str, Any]]:
    started: Any = epoch_millis(deployment.started) if epoch else naive_utc(deployment.started)
    pending = []
    for variant in deployment.target_variants:
        summary = dict(variant)
        if variant["VariantName"] in deployment.target_instance_types:
            summary["InstanceType"] = deployment.target_instance_types[variant["VariantName"]]
        count = variant.get("DesiredInstanceCount", 0)
        summary["VariantStatus"] = [
            {"Status": "Creating", "StatusMessage": f"Launching {count} instance(s).", "StartTime": started}
        ]
        pending.append(summary)
    return pending


def _put_endpoint_events(
    state: SageMakerEndpoints, backend: SageMakerModelBackend, endpoint: FakeEndpoint, update: _Deployment | None
) -> None:
    """Emit "SageMaker Endpoint State Change" for `endpoint`'s status; with `update` (an UpdateEndpoint starting
    or ending) also "SageMaker Endpoint Deployment State Change", carrying PendingDeploymentSummary while Updating.
    """
    detail = _endpoint_detail(endpoint)
    resources = [endpoint.arn]
    state.registry.put_service_event(
        backend.account_id, backend.region_name, "aws.sagemaker", "SageMaker Endpoint State Change", resources, detail
    )
    if update is None:
        return
    deployment_detail = dict(detail)
    if endpoint.endpoint_status == "Updating":
        deployment_detail["PendingDeploymentSummary"] = {
            "EndpointConfigName": update.target_config_name,
            "StartTime": epoch_millis(update.started),
            "ProductionVariants": plain(_pending_variants(update, epoch=True)),
        }
    state.registry.put_service_event(
        backend.account_id,
        backend.region_name,
        "aws.sagemaker",
        "SageMaker Endpoint Deployment State Change",
        resources,
        deployment_detail,
    )


def _model_package_detail(package: ModelPackage, updated_fields: list[str] | None) -> dict[str, Any]:
    """The detail of "SageMaker Model Package State Change" (AWS documentation example plus newer fields)."""
    detail: dict[str, Any] = {}
    if package.model_package_group_name:
        detail["ModelPackageGroupName"] = package.model_package_group_name
    if package.model_package_version is not None:
        detail["ModelPackageVersion"] = package.model_package_version
    detail["ModelPackageArn"] = package.arn
    detail["ModelPackageName"] = package.model_package_name
    detail["CreationTime"] = iso_seconds(package.creation_time)
    optional: dict[str, Any] = {
        "ModelPackageDescription": package.model_package_description,
        "InferenceSpecification": package.inference_specification,
    }
    detail |= {key: plain(value) for key, value in optional.items() if value}
    detail["ModelPackageStatus"] = package.model_package_status
    detail["ModelPackageStatusDetails"] = {"ValidationStatuses": [], "ImageScanStatuses": []}
    detail["CertifyForMarketplace"] = bool(package.certify_for_marketplace)
    if package.model_approval_status:
        detail["ModelApprovalStatus"] = package.model_approval_status
    optional = {
        "ApprovalDescription": package.approval_description,
        "MetadataProperties": package.metadata_properties,
        "ModelMetrics": package.model_metrics,
        "CustomerMetadataProperties": package.customer_metadata_properties,
        "ModelLifeCycle": getattr(package, "model_life_cycle", None),
    }
    detail |= {key: plain(value) for key, value in optional.items() if value}
    detail["LastModifiedTime"] = iso_seconds(package.last_modified_time or package.creation_time)
    if updated_fields is not None:
        detail["UpdatedModelPackageFields"] = list(updated_fields)
    return detail


def _put_model_package_events(
    state: SageMakerEndpoints, backend: SageMakerModelBackend, package: ModelPackage, updated_fields: list[str] | None
) -> None:
    for _ in range(state.model_package_event_copies):
        state.registry.put_service_event(
            backend.account_id,
            backend.region_name,
            "aws.sagemaker",
            "SageMaker Model Package State Change",
            [package.arn],
            _model_package_detail(package, updated_fields),
        )


# -- endpoint lifecycle ---------------------------------------------------------------------------------------


def _failure_reason(deployment: _Deployment) -> str:
    if deployment.script.failure_reason:
        return deployment.script.failure_reason
    if deployment.script.outcome == "update_rollback_failed":
        return _DEFAULT_ROLLBACK_FAILED_REASON
    if deployment.script.outcome == "rollback":
        alarms = (deployment.deployment_config or {}).get("AutoRollbackConfiguration", {}).get("Alarms") or []
        alarm = alarms[0]["AlarmName"] if alarms else "(no AutoRollbackConfiguration alarm configured)"
        return (
            f"Deployment rolled back to endpoint config {deployment.endpoint.endpoint_config_name}: CloudWatch alarm "
            f"{alarm} went into ALARM state while baking endpoint config {deployment.target_config_name}."
        )
    first_variant = deployment.target_variants[0]["VariantName"] if deployment.target_variants else "AllTraffic"
    return _DEFAULT_FAILURE_REASON.format(variant=first_variant)


def _failure_reason_of(endpoint: FakeEndpoint) -> str | None:
    """moto annotates FakeEndpoint.failure_reason as always None; these patches set it."""
    return cast("str | None", endpoint.failure_reason)


def _set_failure_reason(endpoint: FakeEndpoint, reason: str | None) -> None:
    endpoint.failure_reason = reason  # type: ignore[assignment]


def _finish_deployment(state: SageMakerEndpoints, deployment: _Deployment) -> None:
    endpoint = deployment.endpoint
    with state.lock:
        if state.deployments.get(endpoint.arn) is not deployment:
            return  # deleted (or replaced) meanwhile
        del state.deployments[endpoint.arn]
        if deployment.backend.endpoints.get(endpoint.endpoint_name) is not endpoint:
            return
        outcome = deployment.script.outcome
        if deployment.kind == "create":
            endpoint.endpoint_status = "InService" if outcome == "succeed" else "Failed"
            _set_failure_reason(endpoint, None if outcome == "succeed" else _failure_reason(deployment))
        elif outcome == "succeed":
            endpoint.endpoint_status = "InService"
            endpoint.endpoint_config_name = deployment.target_config_name
            endpoint.production_variants = deployment.target_variants
            endpoint.data_capture_config = deployment.target_data_capture
            _set_failure_reason(endpoint, None)
        elif outcome == "silent_rollback":
            endpoint.endpoint_status = "InService"
            _set_failure_reason(endpoint, None)
        else:
            endpoint.endpoint_status = "UpdateRollbackFailed" if outcome == "update_rollback_failed" else "InService"
            _set_failure_reason(endpoint, _failure_reason(deployment))
        endpoint.last_modified_time = naive_utc(state.registry.clock.now())
        _put_endpoint_events(state, deployment.backend, endpoint, deployment if deployment.kind == "update" else None)


def _start_deployment(state: SageMakerEndpoints, deployment: _Deployment) -> None:
    """Record the deployment, emit its start events and schedule its end (caller holds `state.lock`)."""
    state.deployments[deployment.endpoint.arn] = deployment
    _put_endpoint_events(
        state, deployment.backend, deployment.endpoint, deployment if deployment.kind == "update" else None
    )
    deployment.timer = state.registry.clock.call_later(
        deployment.script.duration_seconds, lambda: _finish_deployment(state, deployment)
    )


def _create_endpoint(
    state: SageMakerEndpoints,
    original: Callable[..., FakeEndpoint],
    backend: SageMakerModelBackend,
    endpoint_name: str,
    endpoint_config_name: str,
    tags: list[dict[str, str]],
) -> FakeEndpoint:
    with state.lock:
        if endpoint_name in backend.endpoints:
            raise ValidationError(f'Cannot create already existing endpoint "{_endpoint_arn(backend, endpoint_name)}".')
        endpoint = original(backend, endpoint_name, endpoint_config_name, tags)  # validates the config name
        endpoint.creation_time = endpoint.last_modified_time = naive_utc(state.registry.clock.now())
        endpoint.production_variants = _variant_summaries(backend.endpoint_configs[endpoint_config_name])
        endpoint.endpoint_status = "Creating"
        _set_failure_reason(endpoint, None)
        deployment = _Deployment(
            kind="create",
            endpoint=endpoint,
            backend=backend,
            target_config_name=endpoint_config_name,
            target_variants=endpoint.production_variants,
            target_instance_types={},
            target_data_capture=endpoint.data_capture_config,
            deployment_config=None,
            script=state.take_script("create", endpoint_name),
            started=state.registry.clock.now(),
        )
        _start_deployment(state, deployment)
        return endpoint


def _updatable_endpoint(
    backend: SageMakerModelBackend, endpoint_name: str, endpoint_config_name: str
) -> tuple[FakeEndpoint, FakeEndpointConfig]:
    """The endpoint and config of an UpdateEndpoint request, or the ValidationException AWS answers."""
    endpoint = backend.endpoints.get(endpoint_name)
    if endpoint is None:
        raise ValidationError(f'Could not find endpoint "{_endpoint_arn(backend, endpoint_name)}".')
    config = backend.endpoint_configs.get(endpoint_config_name)
    if config is None:
        raise ValidationError(f'Could not find endpoint configuration "{_config_arn(backend, endpoint_config_name)}".')
    if endpoint.endpoint_status in _IN_PROGRESS_STATUSES:
        raise ValidationError(
            f'Cannot update in-progress endpoint "{endpoint.arn}" (status {endpoint.endpoint_status}); '
            "wait until it leaves that status."
        )
    if endpoint.endpoint_status == "Failed":
        raise ValidationError(
            f'Cannot update failed endpoint "{endpoint.arn}"; DeleteEndpoint is the only operation allowed on a '
            "Failed endpoint."
        )
    return endpoint, config


def _retain_variant_properties(
    endpoint: FakeEndpoint, target_variants: list[dict[str, Any]], excluded: set[str | None]
) -> None:
    """RetainAllVariantProperties: keep the running variants' instance counts and weights (unless excluded)."""
    current = {variant["VariantName"]: variant for variant in endpoint.production_variants}
    for variant in target_variants:
        kept = current.get(variant["VariantName"])
        if kept is None:
            continue
        if "DesiredInstanceCount" not in excluded and "DesiredInstanceCount" in kept:
            variant["CurrentInstanceCount"] = variant["DesiredInstanceCount"] = kept["DesiredInstanceCount"]
        if "DesiredWeight" not in excluded and "DesiredWeight" in kept:
            variant["CurrentWeight"] = variant["DesiredWeight"] = kept["DesiredWeight"]


def _update_endpoint(
    state: SageMakerEndpoints,
    backend: SageMakerModelBackend,
    endpoint_name: str,
    endpoint_config_name: str,
    retain_all_variant_properties: bool | None = None,
    exclude_retained_variant_properties: list[dict[str, str]] | None = None,
    deployment_config: dict[str, Any] | None = None,
    retain_deployment_config: bool | None = None,
) -> str:
    with state.lock:
        endpoint, config = _updatable_endpoint(backend, endpoint_name, endpoint_config_name)
        if not deployment_config and retain_deployment_config:
            deployment_config = state.last_deployment_configs.get(endpoint.arn)
        if deployment_config:
            _validate_deployment_config(deployment_config, config)
            state.last_deployment_configs[endpoint.arn] = copy.deepcopy(deployment_config)
        target_variants = _variant_summaries(config)
        data_capture = config.data_capture_config
        if retain_all_variant_properties:
            excluded = {item.get("VariantPropertyType") for item in exclude_retained_variant_properties or []}
            _retain_variant_properties(endpoint, target_variants, excluded)
            if "DataCaptureConfig" not in excluded:
                data_capture = endpoint.data_capture_config
        endpoint.endpoint_status = "Updating"
        _set_failure_reason(endpoint, None)  # AWS drops the previous update's reason when a new one starts
        endpoint.last_modified_time = naive_utc(state.registry.clock.now())
        deployment = _Deployment(
            kind="update",
            endpoint=endpoint,
            backend=backend,
            target_config_name=endpoint_config_name,
            target_variants=target_variants,
            target_instance_types={
                variant["VariantName"]: variant["InstanceType"]
                for variant in config.production_variants
                if "InstanceType" in variant
            },
            target_data_capture=data_capture,
            deployment_config=copy.deepcopy(deployment_config) if deployment_config else None,
            script=state.take_script("update", endpoint_name),
            started=state.registry.clock.now(),
        )
        _start_deployment(state, deployment)
        return endpoint.arn


def _describe_endpoint(
    state: SageMakerEndpoints,
    original: Callable[..., dict[str, Any]],
    backend: SageMakerModelBackend,
    endpoint_name: str,
) -> dict[str, Any]:
    with state.lock:
        response = original(backend, endpoint_name)  # raises ValidationError when missing
        endpoint = backend.endpoints[endpoint_name]
        response.pop("Tags", None)
        response["ProductionVariants"] = copy.deepcopy(endpoint.production_variants)
        if not _failure_reason_of(endpoint):
            response.pop("FailureReason", None)
        deployment = state.deployments.get(endpoint.arn)
        if deployment is not None and deployment.kind == "update":
            response["PendingDeploymentSummary"] = {
                "EndpointConfigName": deployment.target_config_name,
                "ProductionVariants": _pending_variants(deployment, epoch=False),
                "StartTime": naive_utc(deployment.started),
            }
        if endpoint.arn in state.last_deployment_configs:
            response["LastDeploymentConfig"] = copy.deepcopy(state.last_deployment_configs[endpoint.arn])
        return response


def _delete_endpoint(
    state: SageMakerEndpoints, original: Callable[..., None], backend: SageMakerModelBackend, endpoint_name: str
) -> None:
    with state.lock:
        endpoint = backend.endpoints.get(endpoint_name)
        original(backend, endpoint_name)  # raises ValidationError when missing
        if endpoint is None:
            return
        deployment = state.deployments.pop(endpoint.arn, None)
        if deployment is not None and deployment.timer is not None:
            deployment.timer.cancel()
        state.last_deployment_configs.pop(endpoint.arn, None)
        # moto removes the endpoint at once; AWS shows Deleting for a while first.
        endpoint.endpoint_status = "Deleting"
        endpoint.last_modified_time = naive_utc(state.registry.clock.now())
        _put_endpoint_events(state, backend, endpoint, None)


def _patch_endpoints(state: SageMakerEndpoints) -> None:
    """Endpoints move through Creating/Updating to InService (or Failed, or roll back) and announce each change.

    AWS: CreateEndpoint starts `Creating`; UpdateEndpoint validates its DeploymentConfig, starts `Updating` and
    ends `InService` on the new config, or on the old one with a FailureReason when the update fails or an
    AutoRollbackConfiguration alarm fires (docs.aws.amazon.com/sagemaker/latest/APIReference/
    API_UpdateEndpoint.html, API_DescribeEndpoint.html; docs.aws.amazon.com/sagemaker/latest/dg/
    deployment-guardrails.html); each status change sends "SageMaker Endpoint State Change" and an update sends
    "SageMaker Endpoint Deployment State Change" (docs.aws.amazon.com/sagemaker/latest/dg/
    automating-sagemaker-with-eventbridge.html).
    moto gap: endpoints are InService at once, CreateEndpoint overwrites an existing endpoint, there is no
    FailureReason or PendingDeploymentSummary, no event, and no UpdateEndpoint at all (neither a backend method
    nor a response handler, so boto3 gets a NotImplementedError 500). See the module docstring for what is
    scripted.
    """
    original_create = vars(SageMakerModelBackend)["create_endpoint"]
    original_describe = vars(SageMakerModelBackend)["describe_endpoint"]
    original_delete = vars(SageMakerModelBackend)["delete_endpoint"]

    def create_endpoint(
        self: SageMakerModelBackend, endpoint_name: str, endpoint_config_name: str, tags: list[dict[str, str]]
    ) -> FakeEndpoint:
        return _create_endpoint(state, original_create, self, endpoint_name, endpoint_config_name, tags)

    def update_endpoint(
        self: SageMakerModelBackend, endpoint_name: str, endpoint_config_name: str, **kwargs: Any
    ) -> str:
        return _update_endpoint(state, self, endpoint_name, endpoint_config_name, **kwargs)

    def describe_endpoint(self: SageMakerModelBackend, endpoint_name: str) -> dict[str, Any]:
        return _describe_endpoint(state, original_describe, self, endpoint_name)

    def delete_endpoint(self: SageMakerModelBackend, endpoint_name: str) -> None:
        _delete_endpoint(state, original_delete, self, endpoint_name)

    def update_endpoint_response(self: SageMakerResponse) -> ActionResult:
        endpoint_arn = self.sagemaker_backend.update_endpoint(  # type: ignore[attr-defined]
            endpoint_name=self._get_param("EndpointName"),
            endpoint_config_name=self._get_param("EndpointConfigName"),
            retain_all_variant_properties=self._get_param("RetainAllVariantProperties"),
            exclude_retained_variant_properties=self._get_param("ExcludeRetainedVariantProperties"),
            deployment_config=self._get_param("DeploymentConfig"),
            retain_deployment_config=self._get_param("RetainDeploymentConfig"),
        )
        return ActionResult({"EndpointArn": endpoint_arn})

    state.registry.replace(SageMakerModelBackend, "create_endpoint", create_endpoint)
    state.registry.replace(SageMakerModelBackend, "describe_endpoint", describe_endpoint)
    state.registry.replace(SageMakerModelBackend, "delete_endpoint", delete_endpoint)
    state.registry.replace(SageMakerModelBackend, "update_endpoint", update_endpoint, add=True)
    state.registry.replace(SageMakerResponse, "update_endpoint", update_endpoint_response, add=True)


# -- UpdateEndpoint validation ------------------------------------------------------------------------------


class _Constraints:
    """Collects modelled-constraint violations and reports them the way AWS does ("N validation errors ...")."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def required(self, parent: dict[str, Any], key: str, path: str) -> Any:
        value = parent.get(key)
        if value is None:
            self.errors.append(f"Value null at '{path}' failed to satisfy constraint: Member must not be null")
        return value

    def integer(self, value: Any, path: str, minimum: int | None = None, maximum: int | None = None) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.errors.append(f"Value '{value}' at '{path}' failed to satisfy constraint: Member must be an integer")
            return None
        if minimum is not None and value < minimum:
            self.errors.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: "
                f"Member must have value greater than or equal to {minimum}"
            )
        if maximum is not None and value > maximum:
            self.errors.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: "
                f"Member must have value less than or equal to {maximum}"
            )
        return value

    def enum(self, value: Any, path: str, allowed: tuple[str, ...]) -> str | None:
        if value is None:
            return None
        if value not in allowed:
            self.errors.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(allowed)}]"
            )
            return None
        return cast("str", value)

    def capacity(self, parent: dict[str, Any], key: str, path: str) -> tuple[str, int] | None:
        size = parent.get(key)
        if size is None:
            return None
        kind = self.enum(self.required(size, "Type", f"{path}.type"), f"{path}.type", _CAPACITY_TYPES)
        value = self.integer(self.required(size, "Value", f"{path}.value"), f"{path}.value", minimum=1)
        return (kind, value) if kind is not None and value is not None else None

    def raise_if_any(self) -> None:
        if self.errors:
            count = len(self.errors)
            noun = "error" if count == 1 else "errors"
            raise ValidationError(f"{count} validation {noun} detected: " + "; ".join(self.errors))


_CAPACITY_TYPES = ("INSTANCE_COUNT", "CAPACITY_PERCENT")
_TRAFFIC_ROUTING_TYPES = ("ALL_AT_ONCE", "CANARY", "LINEAR")


def _check_capacity(
    size: tuple[str, int] | None, what: str, percent_range: tuple[int, int], config: FakeEndpointConfig
) -> None:
    """Semantic limits of a CapacitySize relative to the new fleet (AWS deployment guardrails)."""
    if size is None:
        return
    kind, value = size
    low, high = percent_range
    if kind == "CAPACITY_PERCENT" and not low <= value <= high:
        raise ValidationError(
            f"{what} of {value}% is invalid: with Type CAPACITY_PERCENT it must be between {low}% and {high}% "
            "of the new fleet's capacity."
        )
    instances = _instance_count(config)
    if kind == "INSTANCE_COUNT" and value * 2 > instances:
        raise ValidationError(
            f"{what} of {value} instance(s) is invalid: with Type INSTANCE_COUNT it must be at most half of the "
            f"{instances} instance(s) of endpoint config {config.endpoint_config_name}."
        )


_Capacity = tuple[str, int] | None


def _blue_green_constraints(
    constraints: _Constraints, blue_green: dict[str, Any]
) -> tuple[str | None, _Capacity, _Capacity]:
    """BlueGreenUpdatePolicy's modelled constraints; returns the routing type, canary size and linear step."""
    base = "deploymentConfig.blueGreenUpdatePolicy"
    path = f"{base}.trafficRoutingConfiguration"
    routing_type: str | None = None
    canary = linear = None
    routing = constraints.required(blue_green, "TrafficRoutingConfiguration", path)
    if routing is not None:
        routing_type = constraints.enum(
            constraints.required(routing, "Type", f"{path}.type"), f"{path}.type", _TRAFFIC_ROUTING_TYPES
        )
        wait = constraints.required(routing, "WaitIntervalInSeconds", f"{path}.waitIntervalInSeconds")
        constraints.integer(wait, f"{path}.waitIntervalInSeconds", 0, 3600)
        canary = constraints.capacity(routing, "CanarySize", f"{path}.canarySize")
        linear = constraints.capacity(routing, "LinearStepSize", f"{path}.linearStepSize")
    constraints.integer(blue_green.get("TerminationWaitInSeconds"), f"{base}.terminationWaitInSeconds", 0, 3600)
    timeout = blue_green.get("MaximumExecutionTimeoutInSeconds")
    constraints.integer(timeout, f"{base}.maximumExecutionTimeoutInSeconds", 600, 28800)
    return routing_type, canary, linear


def _rolling_constraints(constraints: _Constraints, rolling: dict[str, Any]) -> _Capacity:
    """RollingUpdatePolicy's modelled constraints; returns the maximum batch size."""
    base = "deploymentConfig.rollingUpdatePolicy"
    constraints.required(rolling, "MaximumBatchSize", f"{base}.maximumBatchSize")
    batch = constraints.capacity(rolling, "MaximumBatchSize", f"{base}.maximumBatchSize")
    wait = constraints.required(rolling, "WaitIntervalInSeconds", f"{base}.waitIntervalInSeconds")
    constraints.integer(wait, f"{base}.waitIntervalInSeconds", 0, 3600)
    timeout = rolling.get("MaximumExecutionTimeoutInSeconds")
    constraints.integer(timeout, f"{base}.maximumExecutionTimeoutInSeconds", 600, 28800)
    constraints.capacity(rolling, "RollbackMaximumBatchSize", f"{base}.rollbackMaximumBatchSize")
    return batch


def _alarm_constraints(constraints: _Constraints, auto_rollback: dict[str, Any] | None) -> None:
    alarms = (auto_rollback or {}).get("Alarms")
    if alarms is None:
        return
    path = "deploymentConfig.autoRollbackConfiguration.alarms"
    if not isinstance(alarms, list) or not 1 <= len(alarms) <= 10:
        constraints.errors.append(
            f"Value '{alarms}' at '{path}' failed to satisfy constraint: Member must have length between 1 and 10"
        )
        return
    for index, alarm in enumerate(alarms, start=1):
        name = alarm.get("AlarmName") if isinstance(alarm, dict) else None
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            constraints.errors.append(
                f"Value '{name}' at '{path}.{index}.member.alarmName' failed to satisfy constraint: "
                "Member must be a non-blank string of at most 255 characters"
            )


def _validate_deployment_config(deployment_config: dict[str, Any], config: FakeEndpointConfig) -> None:
    """UpdateEndpoint's DeploymentConfig checks: the API model's constraints first (all reported at once, as
    AWS does), then the deployment-guardrail rules that relate sizes to the new fleet."""
    constraints = _Constraints()
    blue_green = deployment_config.get("BlueGreenUpdatePolicy")
    rolling = deployment_config.get("RollingUpdatePolicy")
    routing_type, canary, linear = (
        _blue_green_constraints(constraints, blue_green) if blue_green is not None else (None, None, None)
    )
    batch = _rolling_constraints(constraints, rolling) if rolling is not None else None
    _alarm_constraints(constraints, deployment_config.get("AutoRollbackConfiguration"))
    constraints.raise_if_any()

    if blue_green is not None and rolling is not None:
        raise ValidationError(
            "DeploymentConfig can specify at most one of BlueGreenUpdatePolicy and RollingUpdatePolicy, not both."
        )
    if routing_type == "CANARY":
        if canary is None:
            raise ValidationError("TrafficRoutingConfiguration of Type CANARY requires CanarySize.")
        _check_capacity(canary, "CanarySize", (1, 50), config)
    if routing_type == "LINEAR":
        if linear is None:
            raise ValidationError("TrafficRoutingConfiguration of Type LINEAR requires LinearStepSize.")
        _check_capacity(linear, "LinearStepSize", (10, 50), config)
    _check_capacity(batch, "MaximumBatchSize", (5, 50), config)


# -- models and endpoint configs ----------------------------------------------------------------------------


def _patch_models_and_configs(state: SageMakerEndpoints) -> None:
    """CreateModel and CreateEndpointConfig refuse an existing name, and CreateModel an unknown ModelPackageName.

    AWS: both fail with ValidationException "Cannot create already existing ..." (docs.aws.amazon.com/sagemaker/
    latest/APIReference/API_CreateModel.html, API_CreateEndpointConfig.html).
    moto gap: both silently replace an existing resource of the same name, and CreateModel accepts a
    ModelPackageName that does not exist. Here they fail with ValidationException like AWS.
    """
    original_create_model = vars(SageMakerModelBackend)["create_model"]
    original_create_config = vars(SageMakerModelBackend)["create_endpoint_config"]

    def create_model(
        self: SageMakerModelBackend,
        model_name: str,
        execution_role_arn: str,
        primary_container: dict[str, Any] | None,
        vpc_config: dict[str, Any] | None,
        containers: list[dict[str, Any]] | None,
        tags: list[dict[str, str]] | None,
    ) -> Any:
        if model_name in self._models:
            arn = arn_formatter("model", model_name, self.account_id, self.region_name)
            raise ValidationError(f'Cannot create already existing model "{arn}".')
        for container in [primary_container or {}, *(containers or [])]:
            package_name = container.get("ModelPackageName")
            if package_name and self.model_package_name_mapping.get(package_name) not in self.model_packages:
                raise ValidationError(
                    f"Model package {package_name} not found (ModelPackageName of model {model_name})."
                )
        return original_create_model(
            self, model_name, execution_role_arn, primary_container, vpc_config, containers, tags
        )

    def create_endpoint_config(self: SageMakerModelBackend, endpoint_config_name: str, **kwargs: Any) -> Any:
        if endpoint_config_name in self.endpoint_configs:
            arn = _config_arn(self, endpoint_config_name)
            raise ValidationError(f'Cannot create already existing endpoint configuration "{arn}".')
        return original_create_config(self, endpoint_config_name=endpoint_config_name, **kwargs)

    state.registry.replace(SageMakerModelBackend, "create_model", create_model)
    state.registry.replace(SageMakerModelBackend, "create_endpoint_config", create_endpoint_config)


# -- model registry -----------------------------------------------------------------------------------------


def _create_model_package(
    state: SageMakerEndpoints, original: Callable[..., str], backend: SageMakerModelBackend, **kwargs: Any
) -> str:
    token = kwargs.get("client_token")
    with state.lock:
        if token:  # AWS: the same ClientToken returns the package it created first
            for existing in backend.model_packages.values():
                if existing.client_token == token:
                    return str(existing.arn)
        arn = original(backend, **kwargs)
        package = backend.model_packages[arn]
        package.creation_time = package.last_modified_time = naive_utc(state.registry.clock.now())
        package.last_modified_by = dict(package.created_by)
        if package.model_package_version is not None and package.model_approval_status is None:
            package.model_approval_status = "PendingManualApproval"
        _put_model_package_events(state, backend, package, updated_fields=None)
        return arn


def _update_model_package(
    state: SageMakerEndpoints,
    backend: SageMakerModelBackend,
    model_package_arn: str,
    model_approval_status: str | None = None,
    approval_description: str | None = None,
    customer_metadata_properties: dict[str, str] | None = None,
    customer_metadata_properties_to_remove: list[str] | None = None,
    additional_inference_specifications_to_add: list[Any] | None = None,
    model_life_cycle: dict[str, str] | None = None,
    inference_specification: dict[str, Any] | None = None,
) -> str:
    """Change only what the request names; report those fields in the event's UpdatedModelPackageFields."""
    with state.lock:
        package = backend.model_packages.get(backend.model_package_name_mapping.get(model_package_arn, ""))
        if package is None:
            raise ValidationError(f"Model package {model_package_arn} not found")
        updated: list[str] = []
        if model_approval_status is not None:
            validate_model_approval_status(model_approval_status)
            package.model_approval_status = model_approval_status
            updated.append("ModelApprovalStatus")
        if approval_description is not None:
            package.approval_description = approval_description
            updated.append("ApprovalDescription")
        if customer_metadata_properties or customer_metadata_properties_to_remove:
            merged = dict(package.customer_metadata_properties or {}) | dict(customer_metadata_properties or {})
            for key in customer_metadata_properties_to_remove or []:
                merged.pop(key, None)
            package.customer_metadata_properties = merged or None
            updated.append("CustomerMetadataProperties")
        if additional_inference_specifications_to_add:
            package.add_additional_inference_specifications(additional_inference_specifications_to_add)
            updated.append("AdditionalInferenceSpecifications")
        if inference_specification is not None:
            package.inference_specification = inference_specification
            updated.append("InferenceSpecification")
        if model_life_cycle is not None:
            package.model_life_cycle = model_life_cycle  # type: ignore[attr-defined]
            updated.append("ModelLifeCycle")
        package.last_modified_time = naive_utc(state.registry.clock.now())
        package.last_modified_by = dict(package.created_by)
        _put_model_package_events(state, backend, package, updated_fields=updated)
        return str(package.arn)


def _patch_model_registry(state: SageMakerEndpoints) -> None:
    """UpdateModelPackage changes only what the request names; both calls announce the package's change.

    AWS: UpdateModelPackage updates the fields given; CreateModelPackage honours ClientToken and starts a
    versioned package PendingManualApproval (docs.aws.amazon.com/sagemaker/latest/APIReference/
    API_UpdateModelPackage.html, API_CreateModelPackage.html); each change sends "SageMaker Model Package State
    Change", possibly more than once (docs.aws.amazon.com/sagemaker/latest/dg/
    automating-sagemaker-with-eventbridge.html).
    moto gap: UpdateModelPackage resets every field the request omits (an approval wipes CustomerMetadataProperties
    and ApprovalDescription, a metadata update wipes ModelApprovalStatus), replaces CustomerMetadataProperties
    instead of merging them, ignores ModelLifeCycle; CreateModelPackage ignores ClientToken, leaves a versioned
    package without approval status and stamps real time; no event is sent. Here UpdateModelPackage reports the
    fields it was given in the event's `UpdatedModelPackageFields` (even when a value does not change), and both
    calls send the event (`set_duplicate_model_package_events` times).
    """
    original_create = vars(SageMakerModelBackend)["create_model_package"]
    original_describe_response = vars(SageMakerResponse)["describe_model_package"]

    def create_model_package(self: SageMakerModelBackend, **kwargs: Any) -> str:
        return _create_model_package(state, original_create, self, **kwargs)

    def update_model_package(self: SageMakerModelBackend, model_package_arn: str, **kwargs: Any) -> str:
        return _update_model_package(state, self, model_package_arn, **kwargs)

    def update_model_package_response(self: SageMakerResponse) -> ActionResult:
        arn = self.sagemaker_backend.update_model_package(  # type: ignore[call-arg]
            model_package_arn=self._get_param("ModelPackageArn"),
            model_approval_status=self._get_param("ModelApprovalStatus"),
            approval_description=self._get_param("ApprovalDescription"),
            customer_metadata_properties=self._get_param("CustomerMetadataProperties"),
            customer_metadata_properties_to_remove=self._get_param("CustomerMetadataPropertiesToRemove"),
            additional_inference_specifications_to_add=self._get_param("AdditionalInferenceSpecificationsToAdd"),
            model_life_cycle=self._get_param("ModelLifeCycle"),
            inference_specification=self._get_param("InferenceSpecification"),
        )
        return ActionResult({"ModelPackageArn": arn})

    def describe_model_package_response(self: SageMakerResponse) -> ActionResult:
        result: ActionResult = original_describe_response(self)
        package = self.sagemaker_backend.describe_model_package(self._get_param("ModelPackageName"))
        life_cycle = getattr(package, "model_life_cycle", None)
        if life_cycle and isinstance(result.result, dict):
            result.result["ModelLifeCycle"] = life_cycle
        return result

    state.registry.replace(SageMakerModelBackend, "create_model_package", create_model_package)
    state.registry.replace(SageMakerModelBackend, "update_model_package", update_model_package)
    state.registry.replace(SageMakerResponse, "update_model_package", update_model_package_response)
    state.registry.replace(SageMakerResponse, "describe_model_package", describe_model_package_response)


# -- SageMaker Runtime --------------------------------------------------------------------------------------


def _patch_invoke_endpoint(state: SageMakerEndpoints) -> None:
    """InvokeEndpoint answers only for an endpoint that serves traffic, with the scripted response or ModelError.

    AWS: an unknown or not-yet-serving endpoint fails with ValidationError "Endpoint X of account Y not found.";
    a container answering non-2xx fails with ModelError (HTTP 424, OriginalStatusCode, OriginalMessage,
    LogStreamArn) (docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html).
    moto gap: it answers for any endpoint name, existing or not, in any status, with static data, and reads the
    endpoint name from the body instead of the path. Here a scripted response (`set_endpoint_response`) is
    returned or raised as ModelError; without a script moto's default data is returned.
    """
    original_invoke = vars(SageMakerRuntimeBackend)["invoke_endpoint"]

    def invoke_endpoint(self: SageMakerRuntimeBackend, endpoint_name: str, unique_repr: bytes) -> Any:
        backend = sagemaker_backends[self.account_id][self.region_name]
        with state.lock:
            endpoint = backend.endpoints.get(endpoint_name)
            if endpoint is None or endpoint.endpoint_status not in _INVOCABLE_STATUSES:
                raise _RuntimeValidationError(f"Endpoint {endpoint_name} of account {self.account_id} not found.")
            scripted = state.responses.get(endpoint_name)
            variants = endpoint.production_variants
        if scripted is None:
            return original_invoke(self, endpoint_name, unique_repr)
        variant = variants[0]["VariantName"] if variants else "AllTraffic"
        if not 200 <= scripted.status < 300:
            text = scripted.body.decode("utf-8", errors="replace")
            kind = "client" if scripted.status < 500 else "server"
            log_group = f"/aws/sagemaker/Endpoints/{endpoint_name}"
            raise _ModelError(
                f'Received {kind} error ({scripted.status}) from primary with message "{text}". See '
                f"https://{self.region_name}.console.aws.amazon.com/cloudwatch/home?region={self.region_name}"
                f"#logEventViewer:group={log_group} in account {self.account_id} for more information.",
                original_status_code=scripted.status,
                original_message=text,
                log_stream_arn=f"arn:aws:logs:{self.region_name}:{self.account_id}:log-group:{log_group}",
            )
        return scripted.body, scripted.content_type, variant, None

    def invoke_endpoint_response(self: SageMakerRuntimeResponse) -> TYPE_RESPONSE:
        # moto's handler reads EndpointName from the request body (the model's payload), so its backend sees
        # None (or whatever the payload says); AWS takes it from the path /endpoints/{EndpointName}/invocations.
        endpoint_name = unquote(self.path.split("?")[0].split("/")[2])
        request = {key: value for key, value in self.headers.items() if key.lower().startswith("x-amzn-sagemaker")}
        request["Accept"] = self.headers.get("Accept")
        request["Body"] = self.body
        unique_repr = base64.b64encode(json.dumps(request, default=str).encode("utf-8"))
        body, content_type, variant, custom_attributes = self.sagemakerruntime_backend.invoke_endpoint(
            endpoint_name=endpoint_name, unique_repr=unique_repr
        )
        headers = {"Content-Type": content_type}
        if variant:
            headers["x-Amzn-Invoked-Production-Variant"] = variant
        if custom_attributes:
            headers["X-Amzn-SageMaker-Custom-Attributes"] = custom_attributes
        return 200, headers, body

    state.registry.replace(SageMakerRuntimeBackend, "invoke_endpoint", invoke_endpoint)
    if not moto_reads_invoke_endpoint_name_from_path():  # a moto bug; its fix makes this handler unnecessary
        state.registry.replace(SageMakerRuntimeResponse, "invoke_endpoint", invoke_endpoint_response)


def moto_reads_invoke_endpoint_name_from_path() -> bool:
    """True once moto's own InvokeEndpoint handler takes EndpointName from the request path, as AWS does.

    Probed by calling the handler on a request for /endpoints/probe-endpoint/invocations with a backend that only
    records the name it is given (moto 5.2.5 gives None: it reads the name from the body)."""
    seen: list[object] = []

    class RecordingBackend:
        def invoke_endpoint(self, endpoint_name: object, unique_repr: bytes) -> tuple[bytes, str, None, None]:
            seen.append(endpoint_name)
            return b"", "text/csv", None, None

    class Probe(SageMakerRuntimeResponse):
        sagemakerruntime_backend = RecordingBackend()  # type: ignore[assignment]

    probe = Probe()
    probe.path = probe.uri = "/endpoints/probe-endpoint/invocations"
    probe.method, probe.headers, probe.body, probe.querystring = "POST", {}, "1,2", {}  # type: ignore[assignment]
    try:
        vars(SageMakerRuntimeResponse)["invoke_endpoint"](probe)
    except Exception:
        return False
    return seen == ["probe-endpoint"]


# -- throttling ---------------------------------------------------------------------------------------------


def _patch_throttling(state: SageMakerEndpoints) -> None:
    """Injected throttling: the next N calls of a SageMaker operation fail with ThrottlingException.

    AWS: a caller over an API's rate gets HTTP 400 ThrottlingException (docs.aws.amazon.com/sagemaker/latest/
    APIReference/CommonErrors.html), which botocore retries and Step Functions names SageMaker.SageMakerException.
    moto gap: it cannot be told to throttle. Every SageMaker request (boto3 from a handler, Step Functions' SDK and
    optimised integrations alike) goes through `BaseResponse.call_action`; an injected throttle answers there
    before the operation runs.
    """
    original_call_action = vars(BaseResponse)["call_action"]
    # SageMaker's API model declares no ThrottlingException (botocore maps it by code), so moto warns on each one.
    warnings.filterwarnings(
        "ignore", message=r"Exception\(SageMakerThrottlingException\)", category=UserWarning, module="moto"
    )

    def call_action(self: BaseResponse) -> TYPE_RESPONSE:
        if self.service_name in _THROTTLED_SERVICES and state.consume_throttle(self._get_action()):
            status, headers, body = self.serialized(ActionResult(SageMakerThrottlingException()))
            headers, body = self._enrich_response(headers, body)
            return status, headers, body
        return cast("TYPE_RESPONSE", original_call_action(self))

    state.registry.replace(BaseResponse, "call_action", call_action)


_PATCHES: tuple[Callable[[SageMakerEndpoints], None], ...] = (
    _patch_endpoints,
    _patch_models_and_configs,
    _patch_model_registry,
    _patch_invoke_endpoint,
    _patch_throttling,
)
