"""SageMaker reads the domain needs."""

from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import ClientError

from controlplane.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient


class SageMakerPipelines:
    def __init__(self, client: "SageMakerClient | None" = None):
        self._sm = client or boto3.client("sagemaker")

    def failure_reason(self, pipeline_execution_arn: str) -> str | None:
        """The reason SageMaker gives for a failed execution; None if it cannot say (the outcome still counts)."""
        try:
            response = self._sm.describe_pipeline_execution(PipelineExecutionArn=pipeline_execution_arn)
        except ClientError as error:
            logger.warning("Failure reason unavailable", extra={"arn": pipeline_execution_arn, "reason": str(error)})
            return None
        return response.get("FailureReason")
