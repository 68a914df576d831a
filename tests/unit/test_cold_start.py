"""What a cold start must not load: the levers of README, Performance (cold start) that a later import could undo."""

import ast
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.exceptions import DataNotFoundError, UnknownServiceError

from controlplane.adapters import clients
from controlplane.adapters.clients import ListingLoader
from controlplane.config import DEFAULT_CONFIG_PATH, built_source, load_config, parse_config
from controlplane.errors import ConfigError
from controlplane.schema import StrictModel

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


def test_no_handler_imports_a_yaml_parser_the_x_ray_sdk_or_boto3() -> None:
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
    assert "botocore" in modules
    assert not modules & {"yaml", "aws_xray_sdk", "wrapt", "boto3", "s3transfer", "multiprocessing"}


# Loads one handler module in a fresh interpreter, as Lambda's runtime does; prints the collector's state after.
_LOAD_HANDLER = """
import gc, importlib.util, json, sys
collections = []
gc.callbacks.append(lambda phase, info: collections.append(info) if phase == "stop" else None)
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps({"enabled": gc.isenabled(), "frozen": gc.get_freeze_count(), "collections": len(collections),
                  "modules": sorted(sys.modules)}))
"""


def _load_handler(name: str, environment: dict[str, str]) -> dict[str, Any]:
    loaded = subprocess.run(
        [sys.executable, "-c", _LOAD_HANDLER, str(ROOT / "functions" / name / "app.py")],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1", "PYTHONPATH": str(ROOT / "layers" / "common")}
        | environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(loaded.stdout))


@pytest.mark.parametrize("name", ["outbox", "deploy_tasks"])
def test_on_lambda_a_handler_loads_with_the_collector_paused_then_freezes_what_it_made(name: str) -> None:
    state = _load_handler(name, {"AWS_EXECUTION_ENV": "AWS_Lambda_python3.13"})
    assert state["collections"] == 0
    assert state["enabled"] is True  # collecting again once the handler is loaded
    assert state["frozen"] > 10_000  # boto3, pydantic and the control plane's modules


def test_off_lambda_loading_a_handler_leaves_the_collector_alone() -> None:
    state = _load_handler("outbox", {})
    assert state["collections"] > 0
    assert state["enabled"] is True
    assert state["frozen"] == 0


def test_the_outbox_loads_no_event_model() -> None:
    modules = _load_handler("outbox", {})["modules"]
    assert "controlplane.adapters.ledger" in modules  # the probe did load the handler
    assert "controlplane.models" not in modules


@pytest.mark.parametrize(("name", "parses"), [("data_ingress", "s3"), ("drift_signals", "monitoring")])
def test_a_handler_loads_only_the_event_models_it_parses(name: str, parses: str) -> None:
    modules = _load_handler(name, {})["modules"]
    assert {module for module in modules if module.startswith("controlplane.events.")} == {
        f"controlplane.events.{parses}"
    }


@pytest.mark.parametrize(
    ("name", "not_loaded"),
    [
        ("endpoint_events", {"controlplane.deploy", "controlplane.decisions"}),
        ("registry_events", {"controlplane.deploy", "controlplane.decisions"}),
        ("deploy_tasks", {"controlplane.events.registry", "controlplane.events.endpoints"}),
    ],
)
def test_the_deploy_triggers_and_the_deploy_tasks_load_apart(name: str, not_loaded: set[str]) -> None:
    modules = set(_load_handler(name, {})["modules"])
    assert "controlplane.adapters.ledger" in modules  # the probe did load the handler
    assert not modules & not_loaded


@pytest.mark.parametrize(
    ("name", "not_loaded"),
    [
        ("drift_signals", {"controlplane.drift", "controlplane.requests"}),
        ("drift_tasks", {"controlplane.drift_signals", "controlplane.events.monitoring"}),
    ],
)
def test_the_drift_signals_and_the_drift_tasks_load_apart(name: str, not_loaded: set[str]) -> None:
    modules = set(_load_handler(name, {})["modules"])
    assert "controlplane.adapters.ledger" in modules  # the probe did load the handler
    assert not modules & not_loaded


def test_every_handler_imports_coldstart_first_and_calls_handler_loaded_last() -> None:
    for app in sorted((ROOT / "functions").glob("*/app.py")):
        statements = ast.parse(app.read_text(encoding="utf-8")).body[1:]  # after the docstring
        first, last = ast.unparse(statements[0]), ast.unparse(statements[-1])
        assert (first, last) == ("from controlplane import coldstart", "coldstart.handler_loaded()"), app


def _rich_document() -> dict[str, Any]:
    """The bundled config, and a stage with every other optional section (rolling update, alarms, approvals)."""
    document = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    fraud = document["models"][1]
    fraud["allowed_dataset_prefixes"] = ["s3://other-bucket/fraud/"]
    fraud["deployment"] = {
        "deploy_on_approval": True,
        "stages": [
            {
                "name": "prod",
                "endpoint_name": "fraud-prod",
                "policy": {
                    "rolling": {"maximum_batch_size": {"type": "INSTANCE_COUNT", "value": 1}},
                    "auto_rollback": {"default_alarms": False, "alarm_names": ["fraud-p99"]},
                },
                "requires_approval": True,
                "requires_documentation": True,
                "auto_promote": False,
            }
        ],
    }
    return dict(document)


@pytest.mark.parametrize("document", [None, _rich_document()], ids=["bundled", "every-section"])
def test_the_built_config_module_is_the_validated_config(document: dict[str, Any] | None) -> None:
    validated = load_config(DEFAULT_CONFIG_PATH) if document is None else parse_config(json.dumps(document), "c.json")
    namespace: dict[str, Any] = {}
    exec(compile(built_source(validated), "built_config.py", "exec"), namespace)
    built = namespace["CONFIG"]
    assert built == validated
    assert built.model_dump(exclude_unset=True) == validated.model_dump(exclude_unset=True)
    assert built.model_dump() == validated.model_dump()
    assert built.owner_teams() == validated.owner_teams()


def test_built_source_refuses_a_value_it_cannot_write() -> None:
    class Odd(StrictModel):
        at: datetime

    with pytest.raises(TypeError, match=r"holds a datetime"):
        built_source(Odd(at=datetime(2026, 12, 1, tzinfo=UTC)))  # type: ignore[arg-type]


def test_load_config_takes_the_built_module_where_the_layer_has_it_and_builds_no_validator() -> None:
    """In a fresh interpreter, as a cold start: the built module's config, and no validator built for it."""
    source = built_source(parse_config(json.dumps(_rich_document()), "c.json"))
    probe = f"""
import json, sys, types
from controlplane import config
built = types.ModuleType(config.BUILT_CONFIG_MODULE)
exec({source!r}, built.__dict__)
sys.modules[config.BUILT_CONFIG_MODULE] = built
loaded = config.load_config()
print(json.dumps([loaded is built.CONFIG, loaded.model("fraud").allowed_dataset_prefixes,
                  config.ControlPlaneConfig.__pydantic_complete__, config.ModelConfig.__pydantic_complete__]))
"""
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "layers" / "common")},
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout) == [True, ["s3://other-bucket/fraud/"], False, False]


def test_without_the_built_module_load_config_reads_the_bundled_yaml() -> None:
    assert load_config() == load_config(DEFAULT_CONFIG_PATH)
    assert len(load_config().models) == len(yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))["models"])


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
    assert isinstance(clients.session().get_component("data_loader"), ListingLoader)
    listed = clients.session().create_client("sqs", region_name="eu-west-1")  # a service the control plane never calls
    default = boto3.Session().client("sqs", region_name="eu-west-1")
    assert listed.meta.service_model.operation_names == default.meta.service_model.operation_names
    assert listed.can_paginate("list_queues")


def test_a_called_service_gets_its_trimmed_model_with_botocore_s_paginators_and_waiters() -> None:
    trimmed = clients.session().create_client("dynamodb", region_name="eu-west-1")
    default = boto3.Session().client("dynamodb", region_name="eu-west-1")
    operations = set(trimmed.meta.service_model.operation_names)
    assert {"GetItem", "UpdateItem", "TransactWriteItems", "Query"} <= operations
    assert operations < set(default.meta.service_model.operation_names)
    assert trimmed.can_paginate("query")
    assert trimmed.waiter_names == default.waiter_names
