"""The `deployment:` section of a model: stages, guardrails and the promotion gate.

Invalid combinations that SageMaker would reject at UpdateEndpoint time (a canary above 50%, a linear step
outside 10-50%, both update policies) are rejected here, when the config is validated, instead.
"""

from typing import Annotated, Any, Literal, Self

from pydantic import Field, model_validator

from controlplane.schema import StrictModel

ENDPOINT_NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
"""SageMaker's rule for an endpoint name."""
_STAGE_NAME = r"^[a-z][a-z0-9-]{0,19}$"

Seconds0To3600 = Annotated[int, Field(ge=0, le=3600)]
ExecutionTimeout = Annotated[int, Field(ge=600, le=28_800)]


class CapacitySize(StrictModel):
    type: Literal["CAPACITY_PERCENT", "INSTANCE_COUNT"]
    value: Annotated[int, Field(ge=1)]

    def as_sagemaker(self) -> dict[str, Any]:
        return {"Type": self.type, "Value": self.value}


class TrafficRouting(StrictModel):
    type: Literal["ALL_AT_ONCE", "CANARY", "LINEAR"] = "ALL_AT_ONCE"
    wait_interval_seconds: Seconds0To3600 = 300
    canary_size: CapacitySize | None = None
    linear_step_size: CapacitySize | None = None

    @model_validator(mode="after")
    def _sizes_fit_the_type(self) -> Self:
        if self.type == "CANARY":
            if self.canary_size is None or self.linear_step_size is not None:
                raise ValueError("CANARY traffic routing needs canary_size (and no linear_step_size)")
            if self.canary_size.type == "CAPACITY_PERCENT" and self.canary_size.value > 50:
                raise ValueError(f"canary_size {self.canary_size.value}% is above 50%; SageMaker allows at most 50%")
        elif self.type == "LINEAR":
            if self.linear_step_size is None or self.canary_size is not None:
                raise ValueError("LINEAR traffic routing needs linear_step_size (and no canary_size)")
            step = self.linear_step_size
            if step.type == "CAPACITY_PERCENT" and not 10 <= step.value <= 50:
                raise ValueError(f"linear_step_size {step.value}% is outside 10-50%, the range SageMaker allows")
        elif self.canary_size is not None or self.linear_step_size is not None:
            raise ValueError("ALL_AT_ONCE traffic routing takes neither canary_size nor linear_step_size")
        return self


class BlueGreenPolicy(StrictModel):
    traffic_routing: TrafficRouting = Field(default_factory=TrafficRouting)
    termination_wait_seconds: Seconds0To3600 = 0
    maximum_execution_timeout_seconds: ExecutionTimeout = 3600


class RollingPolicy(StrictModel):
    maximum_batch_size: CapacitySize
    wait_interval_seconds: Seconds0To3600 = 300
    maximum_execution_timeout_seconds: ExecutionTimeout = 3600
    rollback_maximum_batch_size: CapacitySize | None = None

    @model_validator(mode="after")
    def _batch_in_range(self) -> Self:
        size = self.maximum_batch_size
        if size.type == "CAPACITY_PERCENT" and not 5 <= size.value <= 50:
            raise ValueError(f"maximum_batch_size {size.value}% is outside 5-50%, the range SageMaker allows")
        return self


class AutoRollback(StrictModel):
    """CloudWatch alarms that make SageMaker roll an update back while it bakes."""

    default_alarms: bool = True
    """Create `<endpoint>-5xx-errors` (Invocation5XXErrors > 0) and `<endpoint>-model-latency` alarms."""
    model_latency_p99_ms: Annotated[int, Field(ge=1, le=600_000)] = 1000
    alarm_names: tuple[str, ...] = ()
    """Existing alarms to watch as well."""


class SmokeTest(StrictModel):
    payload: Annotated[str, Field(min_length=1)]
    content_type: str = "text/csv"
    expect_substring: str | None = None


class DeploymentPolicy(StrictModel):
    blue_green: BlueGreenPolicy | None = None
    rolling: RollingPolicy | None = None
    auto_rollback: AutoRollback = Field(default_factory=AutoRollback)

    @model_validator(mode="after")
    def _one_policy(self) -> Self:
        if self.blue_green is not None and self.rolling is not None:
            raise ValueError("choose blue_green or rolling, not both (SageMaker takes one update policy)")
        return self

    @property
    def maximum_execution_timeout_seconds(self) -> int:
        chosen = self.rolling or self.blue_green
        return chosen.maximum_execution_timeout_seconds if chosen else 3600


class Stage(StrictModel):
    name: Annotated[str, Field(pattern=_STAGE_NAME)]
    endpoint_name: Annotated[str, Field(pattern=ENDPOINT_NAME_PATTERN)]
    instance_type: Annotated[str, Field(pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$")] = "ml.m5.large"
    initial_instance_count: Annotated[int, Field(ge=1, le=100)] = 1
    variant_name: Annotated[str, Field(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")] = "AllTraffic"
    policy: DeploymentPolicy = Field(default_factory=DeploymentPolicy)
    smoke_test: SmokeTest | None = None
    bake_minutes: Annotated[int, Field(ge=0, le=10_080)] = 0
    """How long a version must have served here, healthy, before it may be promoted to the next stage."""
    requires_approval: bool = False
    """A deployment here waits for a human approval by someone other than its requester (separation of duties)."""
    approval_timeout_minutes: Annotated[int, Field(ge=1, le=10_080)] = 1440
    """Without an answer in this time the deployment is refused."""
    requires_documentation: bool = False
    """Deploy here only a version whose package documents intended uses, limitations and assumptions."""
    auto_promote: bool | None = None
    """Promote to the next stage by itself once the version baked here; unset: the model's maturity decides."""


class MetricThreshold(StrictModel):
    metric: Annotated[str, Field(min_length=1)]
    """Dotted path into the package's ModelQuality statistics JSON, e.g. binary_classification_metrics.auc.value."""
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _has_a_bound(self) -> Self:
        if self.min is None and self.max is None:
            raise ValueError(f"threshold on '{self.metric}' needs min, max or both")
        return self


class BiasBound(StrictModel):
    """Bounds on one bias metric of the package's registered Clarify-shaped bias reports (ModelMetrics.Bias)."""

    metric: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,31}$")]
    """The metric's name in the report, e.g. DPPL, DI, CI, DPL."""
    facet: Annotated[str, Field(min_length=1)] | None = None
    """The facet (sensitive attribute) it applies to; unset: every facet the reports carry."""
    min: float | None = None
    max: float | None = None
    max_abs: Annotated[float, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _has_a_bound(self) -> Self:
        if self.min is None and self.max is None and self.max_abs is None:
            raise ValueError(f"bias bound on '{self.metric}' needs min, max, max_abs or a combination")
        return self


class Gate(StrictModel):
    thresholds: tuple[MetricThreshold, ...] = ()
    bias: tuple[BiasBound, ...] = ()
    """Every bound must hold for every matching facet value in the package's bias reports."""
    compare_with_champion: bool = False
    """Also require each thresholded metric to be no worse than the serving version's, within tolerance."""
    champion_tolerance: Annotated[float, Field(ge=0)] = 0.0


class Deployment(StrictModel):
    stages: Annotated[tuple[Stage, ...], Field(min_length=1)]
    gate: Gate = Field(default_factory=Gate)
    deploy_on_approval: bool | None = None
    """A Model Registry approval deploys to the first stage by itself; unset: the model's maturity decides."""

    @model_validator(mode="after")
    def _unique_stages(self) -> Self:
        for attribute in ("name", "endpoint_name"):
            values = [getattr(stage, attribute) for stage in self.stages]
            duplicates = sorted({value for value in values if values.count(value) > 1})
            if duplicates:
                raise ValueError(f"stage {attribute} {duplicates} appears twice; each stage needs its own")
        return self

    def stage(self, name: str) -> Stage | None:
        return next((stage for stage in self.stages if stage.name == name), None)

    def next_stage(self, name: str) -> Stage | None:
        names = [stage.name for stage in self.stages]
        index = names.index(name)
        return self.stages[index + 1] if index + 1 < len(self.stages) else None

    def previous_stage(self, name: str) -> Stage | None:
        names = [stage.name for stage in self.stages]
        index = names.index(name)
        return self.stages[index - 1] if index > 0 else None
