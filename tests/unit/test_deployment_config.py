"""The deployment section rejects what SageMaker would reject, with the field and the reason."""

import pytest

from controlplane.config import parse_config
from controlplane.errors import ConfigError

BASE = """
version: 1
models:
  - name: churn
    model_package_group: churn-models
    data_trigger: {{prefix: datasets/churn/}}
    pipeline: {{name: churn-training}}
    deployment:
      stages:
        - name: staging
          endpoint_name: churn-staging
          policy: {policy}
"""


def config_with(policy: str):
    return parse_config(BASE.format(policy=policy), "controlplane.yaml")


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (
            "{blue_green: {traffic_routing: {type: CANARY, canary_size: {type: CAPACITY_PERCENT, value: 60}}}}",
            "canary_size 60% is above 50%",
        ),
        ("{blue_green: {traffic_routing: {type: CANARY}}}", "CANARY traffic routing needs canary_size"),
        (
            "{blue_green: {traffic_routing: {type: LINEAR, linear_step_size: {type: CAPACITY_PERCENT, value: 5}}}}",
            "linear_step_size 5% is outside 10-50%",
        ),
        (
            "{blue_green: {traffic_routing: {type: ALL_AT_ONCE, canary_size: {type: INSTANCE_COUNT, value: 1}}}}",
            "ALL_AT_ONCE traffic routing takes neither",
        ),
        (
            "{rolling: {maximum_batch_size: {type: CAPACITY_PERCENT, value: 80}}}",
            "maximum_batch_size 80% is outside 5-50%",
        ),
        (
            "{blue_green: {}, rolling: {maximum_batch_size: {type: CAPACITY_PERCENT, value: 10}}}",
            "choose blue_green or rolling, not both",
        ),
        ("{blue_green: {maximum_execution_timeout_seconds: 60}}", "maximum_execution_timeout_seconds"),
        ("{blue_green: {traffic_routing: {type: BLUE}}}", "type"),
    ],
)
def test_invalid_policies_fail_validation_with_the_reason(policy, message):
    with pytest.raises(ConfigError) as raised:
        config_with(policy)

    assert "controlplane.yaml" in str(raised.value)
    assert "models[0].deployment.stages[0].policy" in str(raised.value)
    assert message in str(raised.value)


def test_valid_policies_are_accepted():
    canary = config_with(
        "{blue_green: {traffic_routing: {type: CANARY, canary_size: {type: CAPACITY_PERCENT, value: 50}}}}"
    )
    rolling = config_with("{rolling: {maximum_batch_size: {type: INSTANCE_COUNT, value: 2}}}")

    assert canary.models[0].deployment.stages[0].policy.blue_green.traffic_routing.canary_size.value == 50
    assert rolling.models[0].deployment.stages[0].policy.rolling.maximum_batch_size.type == "INSTANCE_COUNT"


def test_two_stages_may_not_share_an_endpoint():
    text = BASE.format(policy="{}") + "        - name: prod\n          endpoint_name: churn-staging\n"

    with pytest.raises(ConfigError, match=r"stage endpoint_name \['churn-staging'\] appears twice"):
        parse_config(text, "controlplane.yaml")
