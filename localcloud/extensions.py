"""Every emulation of `localcloud.emulations` installed on moto together, for one local cloud.

`install(clock, hooks)` creates the local cloud's `ExtensionRegistry` (localcloud.core), applies each emulation
through it and returns a `LocalCloudExtensions`: the registry and the emulations a test or the demo scripts
(pipeline outcomes, endpoint outcomes, alarms and Model Monitor runs). `uninstall()` gives moto back every
original. This is the only module that imports the emulations; each of them imports only `localcloud.core`.
`localcloud.reuse` is installed with them: what every cloud would rebuild identically, built once.
"""

from __future__ import annotations

from dataclasses import dataclass

from localcloud import reuse
from localcloud.core import Clock, ExtensionRegistry, Hooks
from localcloud.emulations import (
    dynamodb,
    eventbridge,
    lambda_invoke,
    monitoring,
    s3_events,
    sagemaker_endpoints,
    sagemaker_pipelines,
    sqs,
    stepfunctions_integrations,
    stepfunctions_time,
)

__all__ = ["Hooks", "LocalCloudExtensions", "install"]


@dataclass(frozen=True)
class LocalCloudExtensions:
    """The installed emulations of one local cloud, and the registry that installed them."""

    registry: ExtensionRegistry
    pipelines: sagemaker_pipelines.SageMakerPipelines
    endpoints: sagemaker_endpoints.SageMakerEndpoints
    monitoring: monitoring.Monitoring

    def uninstall(self) -> None:
        """Restore moto's originals; safe to call twice."""
        self.registry.uninstall()


def install(clock: Clock, hooks: Hooks) -> LocalCloudExtensions:
    """Apply every emulation; fails (with moto left as it was) when another local cloud is installed."""
    registry = ExtensionRegistry(clock, hooks)
    try:
        reuse.install(registry)
        stepfunctions_time.install(registry)
        stepfunctions_integrations.install(registry)
        lambda_invoke.install(registry)
        eventbridge.install(registry)
        s3_events.install(registry)
        dynamodb.install(registry)
        pipelines = sagemaker_pipelines.install(registry)
        endpoints = sagemaker_endpoints.install(registry)
        alarms_and_monitors = monitoring.install(registry)
        sqs.install(registry)
    except BaseException:
        registry.uninstall()
        raise
    return LocalCloudExtensions(registry, pipelines, endpoints, alarms_and_monitors)
