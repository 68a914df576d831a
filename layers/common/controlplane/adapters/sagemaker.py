"""SageMaker: pipeline executions, the Model Registry, endpoints and their alarms."""

import json
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from controlplane.adapters.aws_errors import is_transient
from controlplane.adapters.clients import LazyClient
from controlplane.errors import InvalidRequest
from controlplane.models import split_s3_uri
from controlplane.observability import logger
from controlplane.ports import EndpointInfo, PackageInfo

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sagemaker.type_defs import ProductionVariantTypeDef
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient

# SageMaker answers Describe* of a missing resource with ValidationException (not ResourceNotFound).
_NOT_FOUND = frozenset({"ValidationException", "ResourceNotFound"})


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class SageMakerPipelines:
    _sm = LazyClient["SageMakerClient"]("sagemaker")

    def __init__(self, client: "SageMakerClient | None" = None):
        self._sm = client

    def failure_reason(self, pipeline_execution_arn: str) -> str | None:
        """The reason SageMaker gives for a failed execution; None if it cannot say (the outcome still counts)."""
        try:
            response = self._sm.describe_pipeline_execution(PipelineExecutionArn=pipeline_execution_arn)
        except ClientError as error:
            logger.warning("Failure reason unavailable", extra={"arn": pipeline_execution_arn, "reason": str(error)})
            return None
        return response.get("FailureReason")


class ModelRegistry:
    _sm = LazyClient["SageMakerClient"]("sagemaker")
    _s3 = LazyClient["S3Client"]("s3")

    def __init__(self, client: "SageMakerClient | None" = None, s3: "S3Client | None" = None):
        self._sm = client
        self._s3 = s3

    def describe_package(self, package_arn: str) -> PackageInfo:
        try:
            package = self._sm.describe_model_package(ModelPackageName=package_arn)
        except ClientError as error:
            if _code(error) in _NOT_FOUND:
                raise InvalidRequest(f"Model package {package_arn} does not exist in the Model Registry") from None
            raise
        metrics = package.get("ModelMetrics", {})
        statistics = metrics.get("ModelQuality", {}).get("Statistics", {})
        bias: dict[str, Any] = dict(metrics.get("Bias", {}))
        approver = package.get("LastModifiedBy", {})
        return PackageInfo(
            arn=package["ModelPackageArn"],
            group=package.get("ModelPackageGroupName", ""),
            version=int(package.get("ModelPackageVersion", 0)),
            approval_status=package.get("ModelApprovalStatus", "PendingManualApproval"),
            quality_statistics_uri=statistics.get("S3Uri"),
            approved_by=approver.get("UserProfileName") or approver.get("IamIdentity", {}).get("Arn"),
            approval_description=package.get("ApprovalDescription") or None,
            bias_report_uris=tuple(
                uri
                for report in ("Report", "PreTrainingReport", "PostTrainingReport")
                if (uri := bias.get(report, {}).get("S3Uri"))
            ),
            metadata=dict(package.get("CustomerMetadataProperties") or {}),
            generated_by=package.get("MetadataProperties", {}).get("GeneratedBy"),
        )

    def _document(self, uri: str) -> Any:
        bucket, key = split_s3_uri(uri)
        return json.loads(self._s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    def quality_metrics(self, package: PackageInfo) -> dict[str, Any] | None:
        if not package.quality_statistics_uri:
            return None
        document = self._document(package.quality_statistics_uri)
        return document if isinstance(document, dict) else None

    def bias_reports(self, package: PackageInfo) -> list[dict[str, Any]]:
        """The package's registered bias reports (JSON objects; anything else is skipped with a warning)."""
        reports = []
        for uri in package.bias_report_uris:
            document = self._document(uri)
            if isinstance(document, dict):
                reports.append(document)
            else:
                logger.warning("Bias report is not a JSON object", extra={"uri": uri})
        return reports


class SageMakerEndpoints:
    _sm = LazyClient["SageMakerClient"]("sagemaker")
    _runtime = LazyClient["SageMakerRuntimeClient"]("sagemaker-runtime")
    _cloudwatch = LazyClient["CloudWatchClient"]("cloudwatch")

    def __init__(
        self,
        execution_role_arn: str | None = None,
        client: "SageMakerClient | None" = None,
        runtime: "SageMakerRuntimeClient | None" = None,
        cloudwatch: "CloudWatchClient | None" = None,
    ):
        self._role = execution_role_arn
        self._sm = client
        self._runtime = runtime
        self._cloudwatch = cloudwatch

    def describe(self, endpoint: str) -> EndpointInfo | None:
        try:
            response = self._sm.describe_endpoint(EndpointName=endpoint)
        except ClientError as error:
            if _code(error) in _NOT_FOUND:
                return None
            raise
        return EndpointInfo(
            name=endpoint,
            status=response["EndpointStatus"],
            config_name=response.get("EndpointConfigName"),
            failure_reason=response.get("FailureReason") or None,
        )

    def _exists(self, describe: Any, **name: str) -> bool:
        try:
            describe(**name)
        except ClientError as error:
            if _code(error) in _NOT_FOUND:
                return False
            raise
        return True

    def create_model(self, model_name: str, package_arn: str) -> None:
        """Create the SageMaker Model of a package version under a deterministic name, once."""
        if self._exists(self._sm.describe_model, ModelName=model_name):
            return
        if self._role is None:
            raise RuntimeError("SageMakerEndpoints needs the SageMaker execution role to create models")
        self._sm.create_model(
            ModelName=model_name, ExecutionRoleArn=self._role, PrimaryContainer={"ModelPackageName": package_arn}
        )

    def create_endpoint_config(
        self, config_name: str, model_name: str, variant: str, instance_type: str, instance_count: int
    ) -> None:
        if self._exists(self._sm.describe_endpoint_config, EndpointConfigName=config_name):
            return
        variant_spec: ProductionVariantTypeDef = {
            "VariantName": variant,
            "ModelName": model_name,
            "InstanceType": instance_type,  # type: ignore[typeddict-item] # validated by the config model
            "InitialInstanceCount": instance_count,
        }
        self._sm.create_endpoint_config(
            EndpointConfigName=config_name,
            ProductionVariants=[variant_spec],
        )

    def ensure_alarms(self, endpoint: str, variant: str, model_latency_p99_ms: int) -> list[str]:
        """The endpoint's auto-rollback alarms (PutMetricAlarm overwrites: safe to repeat)."""
        dimensions = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}]
        errors, latency = f"{endpoint}-5xx-errors", f"{endpoint}-model-latency"
        self._cloudwatch.put_metric_alarm(
            AlarmName=errors,
            AlarmDescription=f"Invocation 5XX errors on {endpoint}: SageMaker rolls a deployment back.",
            Namespace="AWS/SageMaker",
            MetricName="Invocation5XXErrors",
            Dimensions=dimensions,  # type: ignore[arg-type]
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=2,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="notBreaching",
        )
        self._cloudwatch.put_metric_alarm(
            AlarmName=latency,
            AlarmDescription=f"p99 model latency on {endpoint} above {model_latency_p99_ms} ms.",
            Namespace="AWS/SageMaker",
            MetricName="ModelLatency",
            Dimensions=dimensions,  # type: ignore[arg-type]
            ExtendedStatistic="p99",
            Period=60,
            EvaluationPeriods=3,
            Threshold=model_latency_p99_ms * 1000,  # ModelLatency is in microseconds
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="notBreaching",
        )
        return [errors, latency]

    def invoke(self, endpoint: str, payload: str, content_type: str) -> tuple[bool, str]:
        try:
            response = self._runtime.invoke_endpoint(EndpointName=endpoint, Body=payload, ContentType=content_type)
        except ClientError as error:
            if is_transient(error):  # a throttled smoke test is retried, not failed
                raise
            return False, f"{_code(error)}: {error.response.get('Error', {}).get('Message', '')}"
        return True, response["Body"].read().decode("utf-8", errors="replace")[:1000]


class MonitoringReports:
    """Model Monitor writes `constraint_violations.json` under the monitoring job's output URI. Reports are read
    only from `readable_buckets` (the data bucket and SageMaker's default bucket, as the function's IAM allows):
    any processing job can name an output, and the control plane reads no location it did not choose."""

    _s3 = LazyClient["S3Client"]("s3")

    def __init__(self, readable_buckets: frozenset[str], s3: "S3Client | None" = None):
        self._readable = readable_buckets
        self._s3 = s3

    def violations(self, output_uri: str) -> list[dict[str, Any]]:
        bucket, prefix = split_s3_uri(output_uri.rstrip("/") + "/constraint_violations.json")
        if bucket not in self._readable:
            logger.warning(
                "Violation report not read: outside the data bucket and SageMaker's default bucket",
                extra={"uri": output_uri, "readable_buckets": sorted(self._readable)},
            )
            return []
        try:
            body = self._s3.get_object(Bucket=bucket, Key=prefix)["Body"].read()
        except ClientError as error:
            if is_transient(error):  # retried by Lambda's asynchronous invocation, not read as "no violations"
                raise
            logger.warning("Violation report unreadable", extra={"uri": output_uri, "reason": str(error)})
            return []
        document = json.loads(body)
        violations = document.get("violations", []) if isinstance(document, dict) else []
        return [violation for violation in violations if isinstance(violation, dict)]


class SageMakerModelCards:
    """Model cards written by the control plane: created as Draft, updated only when their content changed."""

    _sm = LazyClient["SageMakerClient"]("sagemaker")

    def __init__(self, client: "SageMakerClient | None" = None):
        self._sm = client

    def content(self, name: str) -> dict[str, Any] | None:
        try:
            card = self._sm.describe_model_card(ModelCardName=name)
        except ClientError as error:
            if _code(error) not in _NOT_FOUND:
                raise
            return None
        content = json.loads(card.get("Content") or "{}")
        return content if isinstance(content, dict) else None

    def upsert(self, name: str, content: dict[str, Any]) -> Literal["created", "updated", "unchanged"]:
        text = json.dumps(content, sort_keys=True)
        try:
            current = self._sm.describe_model_card(ModelCardName=name)
        except ClientError as error:
            if _code(error) not in _NOT_FOUND:
                raise
            self._sm.create_model_card(ModelCardName=name, Content=text, ModelCardStatus="Draft")
            return "created"
        if json.loads(current.get("Content") or "{}") == content:
            return "unchanged"
        # The status a reviewer gave the card stays (moto would otherwise clear it).
        self._sm.update_model_card(ModelCardName=name, Content=text, ModelCardStatus=current["ModelCardStatus"])
        return "updated"
