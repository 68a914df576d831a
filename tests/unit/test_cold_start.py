"""What a cold start must not load: the levers of README, Performance (cold start) that a later import could undo."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from controlplane import config as config_module
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
