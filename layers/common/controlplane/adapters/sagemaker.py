"""SageMaker reads the domain needs."""

from typing import TYPE_CHECKING

import boto3

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient


class SageMakerPipelines:
    def __init__(self, client: "SageMakerClient | None" = None):
        self._sm = client or boto3.client("sagemaker")

    def failure_reason(self, pipeline_execution_arn: str) -> str | None:
        response = self._sm.describe_pipeline_execution(PipelineExecutionArn=pipeline_execution_arn)
        return response.get("FailureReason")
