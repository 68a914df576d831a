"""What a cold start must not load: the levers of README, Performance (cold start) that a later import could undo."""

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml
from botocore.exceptions import DataNotFoundError, UnknownServiceError

from controlplane import config as config_module
from controlplane.adapters import clients
from controlplane.adapters.clients import ListingLoader
from controlplane.config import DEFAULT_CONFIG_PATH, load_config, parse_config
from controlplane.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
# Imports every handler module, as Lambda does at init, in a fresh interpreter; prints the top-level modules loaded.
_IMPORT_HANDLERS = """
import importlib.util, json, sys
from pathlib import Path
for app in sorted(Path("functions").glob("*/app.py")):
    spec = importlib.util.spec_from_file_location(f"handler_{app.parent.name}", app)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_no_handler_imports_a_yaml_parser_or_the_x_ray_sdk() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", _IMPORT_HANDLERS],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1", "PYTHONPATH": str(ROOT / "layers" / "common")},
        capture_output=True,
        text=True,
        check=True,
    )
    modules = set(json.loads(loaded.stdout))
    assert {"controlplane", "pydantic", "aws_lambda_powertools"} <= modules  # the probe did import the handlers
    assert not modules & {"yaml", "aws_xray_sdk", "wrapt"}


def test_the_built_json_config_is_the_bundled_yaml_config() -> None:
    as_json = json.dumps(yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")))
    assert parse_config(as_json, "controlplane.json") == load_config(DEFAULT_CONFIG_PATH)


def test_load_config_prefers_the_built_json_where_the_layer_has_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = tmp_path / "controlplane.json"
    document = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    document["models"] = document["models"][:1]
    built.write_text(json.dumps(document), encoding="utf-8")
    monkeypatch.setattr(config_module, "BUILT_CONFIG_PATH", built)
    assert [model.name for model in load_config().models] == [document["models"][0]["name"]]
    assert len(load_config(DEFAULT_CONFIG_PATH).models) > 1  # so the JSON was the one read


def test_a_broken_json_config_names_the_file_and_the_problem() -> None:
    with pytest.raises(ConfigError, match=r"^controlplane\.json: not valid JSON \(Expecting"):
        parse_config('{"version": 1,', "controlplane.json")


def test_the_listing_loader_finds_models_and_refuses_unknown_names_as_botocore_does(tmp_path: Path) -> None:
    (tmp_path / "svc" / "2020-01-01").mkdir(parents=True)
    (tmp_path / "svc" / "2020-01-01" / "service-2.json").write_text('{"metadata": {"serviceId": "svc"}}')
    (tmp_path / "paginated" / "2020-01-01").mkdir(parents=True)
    (tmp_path / "paginated" / "2020-01-01" / "paginators-1.json").write_text('{"pagination": {}}')
    (tmp_path / "endpoints.json").write_text("{}")
    loader = ListingLoader(extra_search_paths=[str(tmp_path)])

    services = loader.list_available_services("service-2")
    assert {"svc", "paginated", "dynamodb", "sagemaker"} <= set(services)
    assert "endpoints.json" not in services
    assert loader.load_service_model("svc", "service-2") == {"metadata": {"serviceId": "svc"}}
    with pytest.raises(DataNotFoundError):  # listed, but without that type of model
        loader.load_service_model("paginated", "service-2")
    with pytest.raises(UnknownServiceError):
        loader.load_service_model("no-such-service", "service-2")


def test_the_clients_session_uses_the_listing_loader_and_builds_complete_clients() -> None:
    core = clients.session()._session
    assert isinstance(core.get_component("data_loader"), ListingLoader)
    listed = clients.session().client("sqs", region_name="eu-west-1")  # a service the control plane never calls
    default = boto3.Session().client("sqs", region_name="eu-west-1")
    assert listed.meta.service_model.operation_names == default.meta.service_model.operation_names
    assert listed.can_paginate("list_queues")


def test_a_called_service_gets_its_trimmed_model_with_botocore_s_paginators_and_waiters() -> None:
    trimmed = clients.session().client("dynamodb", region_name="eu-west-1")
    default = boto3.Session().client("dynamodb", region_name="eu-west-1")
    operations = set(trimmed.meta.service_model.operation_names)
    assert {"GetItem", "UpdateItem", "TransactWriteItems", "Query"} <= operations
    assert operations < set(default.meta.service_model.operation_names)
    assert trimmed.can_paginate("query")
    assert trimmed.waiter_names == default.waiter_names
