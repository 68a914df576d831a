"""The declarative control-plane config: which models are under control and how each is trained.

The YAML file ships inside the layer (see README, "Configuration"), so a config change deploys atomically
with the code that reads it and is validated by `make test` and `sam build` before it can reach AWS. The layer's
build validates it and writes it as Python (`built_source`, the module `controlplane.built_config`), which a cold
start imports as compiled bytecode: no YAML parser, and no validator built to check it again (README, Performance).
"""

import importlib
import json
import math
import re
import string
from functools import cache
from pathlib import Path
from typing import Annotated, Literal, NamedTuple, Self

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from controlplane.deployment_config import Deployment, Stage
from controlplane.drift_config import DriftAlarm, DriftPolicy
from controlplane.errors import ConfigError, UnknownModel
from controlplane.schema import StrictModel, validation_problems

DEFAULT_CONFIG_PATH = Path(__file__).with_name("controlplane.yaml")
BUILT_CONFIG_MODULE = "controlplane.built_config"
"""The bundled config as the layer ships it (layers/common/Makefile writes `built_source`); absent in a checkout."""

# Placeholders allowed in pipeline parameter templates, filled from the dataset being trained.
PARAMETER_PLACEHOLDERS = frozenset({"model", "dataset_uri", "dataset_id", "bucket", "dataset_prefix"})

_NAME = r"^[a-z0-9](-?[a-z0-9])*$"
_PIPELINE_NAME = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$"
_GROUP_NAME = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
_DATASET_PREFIX = r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/(\S*/)?$"


class DataTrigger(StrictModel):
    """When new data under `prefix` of the data bucket starts a training."""

    prefix: Annotated[str, Field(min_length=1, description="Key prefix of this model's datasets, ending in '/'.")]
    dataset_depth: Annotated[int, Field(ge=1, le=10)] | None = None
    dataset_pattern: str | None = None
    mode: Literal["marker", "quiet_period"] = "marker"
    marker_names: tuple[str, ...] = ("_SUCCESS", "manifest.json")
    quiet_period_seconds: Annotated[int, Field(ge=10, le=86_400)] = 300

    @field_validator("prefix")
    @classmethod
    def _prefix_is_a_folder(cls, prefix: str) -> str:
        if prefix.startswith("/") or not prefix.endswith("/"):
            raise ValueError(
                f"'{prefix}' must be a key prefix ending in '/' without a leading '/', e.g. 'datasets/churn/'"
            )
        return prefix

    @field_validator("dataset_pattern")
    @classmethod
    def _pattern_compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"'{pattern}' is not a valid regular expression ({error})") from None
        return pattern

    @field_validator("marker_names")
    @classmethod
    def _markers_are_file_names(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        if not names or any(not name or "/" in name for name in names):
            raise ValueError("list at least one completion file name without '/', e.g. ['_SUCCESS']")
        return names

    @model_validator(mode="after")
    def _one_dataset_rule(self) -> Self:
        if self.dataset_depth is not None and self.dataset_pattern is not None:
            raise ValueError("set either dataset_depth or dataset_pattern, not both")
        return self

    @property
    def depth(self) -> int:
        return self.dataset_depth or 1


class PipelineSpec(StrictModel):
    """The SageMaker Pipeline a dataset starts, and how its parameters are built."""

    name: Annotated[str, Field(pattern=_PIPELINE_NAME)]
    parameters: dict[str, str] = Field(default_factory=dict)
    concurrency: Literal["queue", "skip", "allow"] = "queue"
    timeout_seconds: Annotated[int, Field(ge=60, le=2_592_000)] = 86_400
    queue_poll_seconds: Annotated[int, Field(ge=1, le=3_600)] = 300

    @field_validator("parameters")
    @classmethod
    def _known_placeholders(cls, parameters: dict[str, str]) -> dict[str, str]:
        for name, template in parameters.items():
            try:
                fields = {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}
            except ValueError as error:
                raise ValueError(f"parameter '{name}': '{template}' is not a valid template ({error})") from None
            unknown = fields - PARAMETER_PLACEHOLDERS
            if unknown:
                raise ValueError(
                    f"parameter '{name}' uses unknown placeholder(s) {sorted(unknown)}; "
                    f"use only {sorted(PARAMETER_PLACEHOLDERS)}"
                )
        return parameters


class Owner(StrictModel):
    """Who answers for a model: its announcements carry `team` (SNS message attribute `owner`)."""

    team: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    contact: Annotated[str, Field(min_length=3, max_length=256)]
    """An address or channel a human reads, e.g. churn-team@example.com."""


Maturity = Literal[1, 2, 3]


class Autonomy(NamedTuple):
    """What runs by itself, before a model's explicit settings override it."""

    deploy_on_approval: bool
    auto_promote: bool
    automatic_drift_response: bool


MATURITY_DEFAULTS: dict[Maturity, Autonomy] = {
    1: Autonomy(deploy_on_approval=False, auto_promote=False, automatic_drift_response=False),
    2: Autonomy(deploy_on_approval=True, auto_promote=False, automatic_drift_response=False),
    3: Autonomy(deploy_on_approval=True, auto_promote=True, automatic_drift_response=True),
}
UNLEVELLED = Autonomy(deploy_on_approval=True, auto_promote=False, automatic_drift_response=True)
"""A model without `maturity` (scripts/check_config.py refuses one): the behaviour from before maturity levels."""


class PolicyLine(NamedTuple):
    setting: str
    value: bool
    source: str
    """`explicit` (set in the config) or the maturity level the value comes from."""


class ModelConfig(StrictModel):
    """One model under control."""

    name: Annotated[str, Field(pattern=_NAME, max_length=32)]
    model_package_group: Annotated[str, Field(pattern=_GROUP_NAME)]
    owner: Owner | None = None
    maturity: Maturity | None = None
    """1: approvals wait for an explicit deploy; 2: approvals deploy to the first stage; 3: also auto-promotion
    after bake and automatic drift responses. Each default yields to an explicit setting."""
    data_trigger: DataTrigger
    pipeline: PipelineSpec
    deployment: Deployment | None = None
    """Where approved versions of this model are deployed; without it, approvals are recorded, not deployed."""
    drift: DriftPolicy | None = None
    """How drift and quality signals about this model are answered; without it, they are recorded only."""
    allowed_dataset_prefixes: tuple[Annotated[str, Field(pattern=_DATASET_PREFIX)], ...] = ()
    """Locations besides s3://<data bucket>/<data_trigger.prefix> this model may train on, each s3://<bucket>/<prefix>/."""

    @model_validator(mode="after")
    def _retrain_dataset_is_allowed(self) -> Self:
        """The bucket is the stack's, known only when deployed (see `dataset_location_problem`); the key is known."""
        uri = self.drift.retrain_dataset_uri if self.drift else None
        if uri is None or uri.startswith(self.allowed_dataset_prefixes):
            return self
        key = uri.removeprefix("s3://").partition("/")[2]
        if not key.startswith(self.data_trigger.prefix):
            raise ValueError(
                f"drift.retrain_dataset_uri '{uri}' is neither under data_trigger.prefix '{self.data_trigger.prefix}' "
                "nor under allowed_dataset_prefixes; move the dataset or add its prefix to allowed_dataset_prefixes"
            )
        return self

    def dataset_location_problem(self, dataset_uri: str, data_bucket: str) -> str | None:
        """Why this model may not train on `dataset_uri`, saying what is allowed; None when it may."""
        allowed = (f"s3://{data_bucket}/{self.data_trigger.prefix}", *self.allowed_dataset_prefixes)
        where = " or ".join(allowed)
        if not dataset_uri.startswith(allowed):
            return (
                f"Dataset '{dataset_uri}' is not allowed for model '{self.name}': its datasets lie under {where} "
                "(data_trigger.prefix in the stack's data bucket, or allowed_dataset_prefixes in the config)"
            )
        if {".", ".."} & set(dataset_uri.removeprefix("s3://").split("/")):
            return f"Dataset '{dataset_uri}' is not allowed for model '{self.name}': remove its '.' and '..' segments"
        return None

    @model_validator(mode="after")
    def _drift_endpoints_are_stages(self) -> Self:
        if self.drift is None:
            return self
        endpoints = {stage.endpoint_name for stage in self.deployment.stages} if self.deployment else set()
        for alarm in self.drift.alarms:
            if not endpoints:
                raise ValueError("drift.alarms need a deployment section: a signal is about an endpoint")
            if alarm.endpoint is not None and alarm.endpoint not in endpoints:
                raise ValueError(
                    f"drift alarm '{alarm.alarm_name}' names endpoint '{alarm.endpoint}', which is not a stage of "
                    f"this model ({', '.join(sorted(endpoints))})"
                )
        return self

    def production_endpoint(self) -> str | None:
        return self.deployment.stages[-1].endpoint_name if self.deployment else None

    def autonomy(self) -> Autonomy:
        return UNLEVELLED if self.maturity is None else MATURITY_DEFAULTS[self.maturity]

    def _default_source(self) -> str:
        return "no maturity set" if self.maturity is None else f"maturity {self.maturity}"

    def deploys_on_approval(self) -> bool:
        explicit = self.deployment.deploy_on_approval if self.deployment else None
        return self.autonomy().deploy_on_approval if explicit is None else explicit

    def auto_promotes(self, stage: Stage) -> bool:
        """Whether a version that baked in `stage` goes on to the next stage by itself."""
        return self.autonomy().auto_promote if stage.auto_promote is None else stage.auto_promote

    def drift_requires_approval(self) -> bool:
        explicit = self.drift.require_approval if self.drift else None
        return not self.autonomy().automatic_drift_response if explicit is None else explicit

    def effective_drift_policy(self) -> DriftPolicy:
        """The drift policy with `require_approval` resolved from the maturity where the config leaves it unset."""
        return (self.drift or DriftPolicy()).model_copy(update={"require_approval": self.drift_requires_approval()})

    def effective_policy(self) -> list[PolicyLine]:
        """Every automatic action of this model, its value and where the value comes from."""
        default = self._default_source()
        lines: list[PolicyLine] = []
        if self.deployment is not None:
            explicit = self.deployment.deploy_on_approval is not None
            lines.append(
                PolicyLine("deploy_on_approval", self.deploys_on_approval(), "explicit" if explicit else default)
            )
            for stage, following in zip(self.deployment.stages, self.deployment.stages[1:], strict=False):
                source = "explicit" if stage.auto_promote is not None else default
                lines.append(
                    PolicyLine(f"auto_promote {stage.name} -> {following.name}", self.auto_promotes(stage), source)
                )
        if self.drift is not None:
            source = "explicit" if self.drift.require_approval is not None else default
            lines.append(PolicyLine("drift.require_approval", self.drift_requires_approval(), source))
        return lines


class ControlPlaneConfig(StrictModel):
    """The whole file."""

    version: Literal[1]
    output_prefixes: tuple[str, ...] = ("controlplane/",)
    models: Annotated[tuple[ModelConfig, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _models_do_not_collide(self) -> Self:
        seen: dict[str, str] = {}
        for model in self.models:
            if model.name in seen:
                raise ValueError(f"model name '{model.name}' appears twice; give each model a unique name")
            seen[model.name] = model.data_trigger.prefix
        for attribute, values in (
            ("model_package_group", [model.model_package_group for model in self.models]),
            (
                "deployment endpoint_name",
                [
                    stage.endpoint_name
                    for model in self.models
                    for stage in (model.deployment.stages if model.deployment else ())
                ],
            ),
        ):
            duplicates = sorted({value for value in values if values.count(value) > 1})
            if duplicates:
                raise ValueError(f"{attribute} {duplicates} is used by more than one model; give each model its own")
        prefixes = [(model.name, model.data_trigger.prefix) for model in self.models]
        for index, (name, prefix) in enumerate(prefixes):
            for other_name, other_prefix in prefixes[index + 1 :]:
                if prefix.startswith(other_prefix) or other_prefix.startswith(prefix):
                    raise ValueError(
                        f"data_trigger.prefix of models '{name}' ('{prefix}') and '{other_name}' ('{other_prefix}') "
                        "overlap, so one object would belong to both; give each model its own prefix"
                    )
            for output in self.output_prefixes:
                if prefix.startswith(output) or output.startswith(prefix):
                    raise ValueError(
                        f"data_trigger.prefix '{prefix}' of model '{name}' overlaps output_prefixes entry '{output}' "
                        "(the control plane's own outputs); move one of them"
                    )
        return self

    def model(self, name: str) -> ModelConfig:
        for model in self.models:
            if model.name == name:
                return model
        known = ", ".join(model.name for model in self.models)
        raise UnknownModel(
            f"Model '{name}' is not configured; known models: {known}. Add it under models: in the config."
        )

    def owner_teams(self) -> dict[str, str]:
        """Model name to the team that owns it (announcements carry it as `owner`)."""
        return {model.name: model.owner.team for model in self.models if model.owner}

    def model_for_group(self, group: str) -> ModelConfig | None:
        return next((model for model in self.models if model.model_package_group == group), None)

    def stage_for_endpoint(self, endpoint_name: str) -> tuple[ModelConfig, Stage] | None:
        for model in self.models:
            for stage in model.deployment.stages if model.deployment else ():
                if stage.endpoint_name == endpoint_name:
                    return model, stage
        return None

    def detector_sources(self) -> frozenset[str]:
        """Every configured drift detector's EventBridge source (the DriftDetected rule must match exactly these)."""
        return frozenset(source for model in self.models if model.drift for source in model.drift.detector_sources)

    def drift_alarm(self, alarm_name: str) -> tuple[ModelConfig, DriftAlarm] | None:
        for model in self.models:
            for alarm in model.drift.alarms if model.drift else ():
                if alarm.alarm_name == alarm_name:
                    return model, alarm
        return None

    def model_for_key(self, key: str) -> ModelConfig | None:
        for model in self.models:
            if key.startswith(model.data_trigger.prefix):
                return model
        return None


def _yaml_document(text: str, source: str) -> object:
    import yaml  # noqa: PLC0415 - only for a YAML config: the layer's bundled config is JSON

    # libyaml's loader when PyYAML's wheel carries it (it does on Lambda's platforms): same safe subset, faster.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)  # a safe loader, C or Python
    except yaml.YAMLError as error:
        raise ConfigError(f"{source}: not valid YAML ({error})") from None


def _json_document(text: str, source: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{source}: not valid JSON ({error})") from None


def parse_config(text: str, source: str = "<config>") -> ControlPlaneConfig:
    """Parse and validate config YAML (JSON when `source` ends in .json); raise ConfigError naming the source,
    the field and the fix."""
    document = _json_document(text, source) if source.endswith(".json") else _yaml_document(text, source)
    if not isinstance(document, dict):
        raise ConfigError(f"{source}: expected a mapping with 'version' and 'models' at the top level")
    try:
        return ControlPlaneConfig.model_validate(document)
    except ValidationError as error:
        problems = validation_problems(error)
        header = f"{source}: invalid control-plane config ({len(problems)} problem(s)):"
        raise ConfigError("\n  - ".join([header, *problems])) from None


def load_config(path: Path | str | None = None) -> ControlPlaneConfig:
    """Load the config file (default: the one bundled next to this module, as the layer's build wrote it)."""
    if not path:
        built = _built_config()
        if built is not None:
            return built
    config_path = Path(path) if path else DEFAULT_CONFIG_PATH
    try:
        text = config_path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{config_path}: cannot read the control-plane config ({error.strerror})") from None
    return parse_config(text, str(config_path))


def _built_config() -> ControlPlaneConfig | None:
    try:
        built = importlib.import_module(BUILT_CONFIG_MODULE)
    except ModuleNotFoundError as error:
        if error.name != BUILT_CONFIG_MODULE:
            raise
        return None
    config: ControlPlaneConfig = built.CONFIG
    return config


def built_source(config: ControlPlaneConfig) -> str:
    """Python source of a module whose `CONFIG` equals `config`, built with pydantic's `model_construct` (its
    constructor for data validated already): a cold start that imports it builds no validator for the config's
    models. Written by the layer's build from the config it has just validated; a value of a type it cannot
    write raises TypeError."""
    modules: set[str] = set()

    def source(value: object) -> str:
        if isinstance(value, BaseModel):
            model = type(value)
            if value.__pydantic_extra__ or value.__pydantic_private__:
                raise TypeError(f"{model.__name__} holds extra or private values, which model_construct would lose")
            modules.add(model.__module__)
            fields = ", ".join(f"{name!r}: {source(getattr(value, name))}" for name in model.model_fields)
            names = sorted(value.model_fields_set)
            fields_set = "{" + ", ".join(repr(name) for name in names) + "}" if names else "set()"
            return f"{model.__module__}.{model.__qualname__}.model_construct({fields_set}, **{{{fields}}})"
        if value is None or type(value) in (bool, int, str):
            return repr(value)
        if type(value) is float:
            return repr(value) if math.isfinite(value) else f"float({str(value)!r})"
        if type(value) is tuple:
            return "(" + "".join(f"{source(item)}, " for item in value) + ")"
        if type(value) is list:
            return "[" + ", ".join(source(item) for item in value) + "]"
        if type(value) is dict:
            return "{" + ", ".join(f"{source(key)}: {source(item)}" for key, item in value.items()) + "}"
        if type(value) is frozenset:
            return "frozenset({" + ", ".join(source(item) for item in sorted(value, key=repr)) + "})"
        raise TypeError(f"the config holds a {type(value).__name__} ({value!r}), which built_source cannot write")

    body = source(config)
    imports = "".join(f"import {module}\n" for module in sorted(modules))
    return (
        '"""The bundled control-plane config, validated by the layer\'s build (controlplane.config.built_source)."""'
        f"\n\n{imports}\nCONFIG = {body}\n"
    )


@cache
def bundled_config() -> ControlPlaneConfig:
    """The config shipped with the code, loaded once per process."""
    return load_config()
