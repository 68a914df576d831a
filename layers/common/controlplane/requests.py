"""The workflow inputs several modules build or read: a retrain (ingress, drift, operator), a rollback (drift, a
rejection, operator) and a deployment (an approval, a promotion, operator)."""

from typing import Annotated

from pydantic import Field

from controlplane.deployment_config import ENDPOINT_NAME_PATTERN
from controlplane.models import PACKAGE_ARN_PATTERN, DatasetUri, split_s3_uri
from controlplane.schema import StrictModel


class RetrainRequest(StrictModel):
    """Input of the retrain workflow, from the data ingress or from an operator."""

    model: Annotated[str, Field(min_length=1, max_length=64)]
    dataset_uri: DatasetUri
    reason: Annotated[str, Field(min_length=1, max_length=256)]
    run_key: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,32}$")] | None = None
    """Set to train the same dataset again: each new run key is a new run."""
    wait_for_quiet_period: bool = False
    """Wait until no object arrived in the dataset for the model's quiet period (set by the data ingress)."""

    @property
    def bucket(self) -> str:
        return split_s3_uri(self.dataset_uri)[0]

    @property
    def key_prefix(self) -> str:
        return split_s3_uri(self.dataset_uri)[1]


class RollbackRequest(StrictModel):
    """Put an endpoint back on its last known good version, or on a version it served before."""

    endpoint: Annotated[str, Field(pattern=ENDPOINT_NAME_PATTERN)]
    to: Annotated[str, Field(pattern=r"^(last_known_good|" + PACKAGE_ARN_PATTERN[1:-1] + r")$")] = "last_known_good"
    reason: Annotated[str, Field(min_length=1, max_length=256)]


class DeployRequest(StrictModel):
    """Deploy (or promote) one exact model package version to a stage."""

    model_package_arn: Annotated[str, Field(pattern=PACKAGE_ARN_PATTERN)]
    stage: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,19}$")] | None = None
    requested_by: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    reason: Annotated[str, Field(min_length=1, max_length=256)] | None = None
