"""Each function's environment, read once into a validated model: a missing variable fails at the
first invocation with its name, not with a KeyError deep inside a call."""

import os
from typing import Self

from pydantic import BaseModel, ConfigDict, ValidationError

from controlplane.errors import ConfigError


class _Environment(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    CONTROLPLANE_CONFIG_PATH: str | None = None
    """Override of the bundled config file (tests and the local cloud); unset in the deployed stack."""

    @classmethod
    def from_os(cls) -> Self:
        try:
            return cls.model_validate(dict(os.environ))
        except ValidationError as error:
            missing = ", ".join(str(problem["loc"][0]) for problem in error.errors())
            raise ConfigError(f"{cls.__name__}: set environment variable(s) {missing} (see template.yaml)") from None


class IngressEnvironment(_Environment):
    LEDGER_TABLE: str
    RETRAIN_STATE_MACHINE_ARN: str


class RetrainTasksEnvironment(_Environment):
    LEDGER_TABLE: str
    DATA_BUCKET: str


class PipelineEventsEnvironment(_Environment):
    LEDGER_TABLE: str


class DeployTasksEnvironment(_Environment):
    LEDGER_TABLE: str
    SAGEMAKER_EXECUTION_ROLE_ARN: str
    AWS_REGION: str
    DECISION_STATE_MACHINE_ARN: str


class RegistryEventsEnvironment(_Environment):
    LEDGER_TABLE: str
    DEPLOY_STATE_MACHINE_ARN: str


class EndpointEventsEnvironment(_Environment):
    LEDGER_TABLE: str


class DriftSignalsEnvironment(_Environment):
    LEDGER_TABLE: str
    DATA_BUCKET: str
    SAGEMAKER_DEFAULT_BUCKET: str


class DriftTasksEnvironment(_Environment):
    LEDGER_TABLE: str
    DATA_BUCKET: str
    DECISION_STATE_MACHINE_ARN: str


class DecisionTasksEnvironment(_Environment):
    LEDGER_TABLE: str
    DATA_BUCKET: str


class OutboxEnvironment(_Environment):
    LEDGER_TABLE: str
    NOTIFICATION_TOPIC_ARN: str
    EVENT_BUS_NAME: str
    RETRAIN_STATE_MACHINE_ARN: str
    DEPLOY_STATE_MACHINE_ARN: str
    DRIFT_STATE_MACHINE_ARN: str
