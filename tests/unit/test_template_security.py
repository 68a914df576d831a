"""The template's security settings that checkov cannot judge: skips carry reasons, and every function logs to
a declared, encrypted log group with the stack's retention."""

import re
from pathlib import Path
from typing import Any

import pytest

from localcloud.template import load_template
from scripts.translate_template import translate

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "template.yaml"
TEMPLATE = load_template(TEMPLATE_PATH)
FUNCTIONS = {
    logical_id: resource
    for logical_id, resource in TEMPLATE["Resources"].items()
    if resource["Type"] == "AWS::Serverless::Function"
}


def _checkov_skips(resource: dict[str, Any]) -> list[dict[str, Any]]:
    return list(resource.get("Metadata", {}).get("checkov", {}).get("skip", []))


def test_every_checkov_skip_names_a_check_and_says_why() -> None:
    skips = [
        (logical_id, skip)
        for logical_id, resource in TEMPLATE["Resources"].items()
        for skip in _checkov_skips(resource)
    ]
    assert skips, "the template is expected to skip some checks with reasons (see README, Scanners)"
    for logical_id, skip in skips:
        assert re.fullmatch(r"CKV_AWS_\d+", str(skip.get("id", ""))), f"{logical_id}: skip without a check id: {skip}"
        assert len(str(skip.get("comment", "")).split()) >= 8, f"{logical_id}: skip of {skip['id']} gives no reason"


def test_the_translated_template_keeps_each_functions_skips() -> None:
    translated = translate(TEMPLATE_PATH)["Resources"]
    for logical_id, resource in FUNCTIONS.items():
        assert translated[logical_id]["Type"] == "AWS::Lambda::Function"
        assert _checkov_skips(translated[logical_id]) == _checkov_skips(resource), logical_id


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_function_logs_to_its_own_encrypted_log_group(logical_id: str) -> None:
    log_group_id = FUNCTIONS[logical_id]["Properties"].get("LoggingConfig", {}).get("LogGroup", {}).get("Ref")
    assert log_group_id in TEMPLATE["Resources"], f"{logical_id} has no LoggingConfig.LogGroup: !Ref <its log group>"
    log_group = TEMPLATE["Resources"][log_group_id]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert log_group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["LogsKey", "Arn"]}
    others = [other for other in FUNCTIONS if other != logical_id]
    assert all(FUNCTIONS[other]["Properties"]["LoggingConfig"]["LogGroup"] != {"Ref": log_group_id} for other in others)


def test_workflow_log_groups_are_encrypted_with_the_stack_retention() -> None:
    state_machines = [r for r in TEMPLATE["Resources"].values() if r["Type"] == "AWS::Serverless::StateMachine"]
    assert state_machines
    for state_machine in state_machines:
        (destination,) = state_machine["Properties"]["Logging"]["Destinations"]
        log_group_id = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
        properties = TEMPLATE["Resources"][log_group_id]["Properties"]
        assert properties["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert properties["KmsKeyId"] == {"Fn::GetAtt": ["LogsKey", "Arn"]}
