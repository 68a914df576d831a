"""The control-plane config: the bundled file is valid, and every invalid file fails with a message that
names the file, the field and the fix."""

from pathlib import Path

import pytest

from controlplane.config import DEFAULT_CONFIG_PATH, bundled_config, load_config, parse_config
from controlplane.errors import ConfigError, InvalidRequest, UnknownModel

CHURN = """\
  - name: churn
    model_package_group: churn-models
    data_trigger:
      prefix: datasets/churn/
    pipeline:
      name: churn-training
"""

FRAUD = """\
  - name: fraud
    model_package_group: fraud-models
    data_trigger:
      prefix: datasets/fraud/
    pipeline:
      name: fraud-training
"""


def config_text(*models: str, header: str = "version: 1\n") -> str:
    return header + "models:\n" + "".join(models)


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "controlplane.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path) -> str:
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    return str(raised.value)


# --- valid configs -----------------------------------------------------------------------------------------


def test_bundled_config_loads_with_its_models():
    config = load_config()

    assert [model.name for model in config.models] == ["churn", "fraud"]
    assert config.output_prefixes == ("controlplane/",)
    fraud = config.model("fraud")
    assert fraud.data_trigger.mode == "quiet_period"
    assert fraud.data_trigger.dataset_pattern == r"^\d{4}/\d{2}/\d{2}/"
    assert fraud.pipeline.concurrency == "skip"
    assert config.model("churn").pipeline.parameters == {"InputDataUri": "{dataset_uri}", "DatasetId": "{dataset_id}"}


def test_bundled_config_is_loaded_once_from_the_default_path():
    assert DEFAULT_CONFIG_PATH.name == "controlplane.yaml"
    assert bundled_config() is bundled_config()
    assert bundled_config() == load_config(DEFAULT_CONFIG_PATH)


def test_minimal_model_gets_the_documented_defaults():
    model = parse_config(config_text(CHURN)).model("churn")

    assert model.data_trigger.mode == "marker"
    assert model.data_trigger.marker_names == ("_SUCCESS", "manifest.json")
    assert model.data_trigger.depth == 1
    assert model.data_trigger.quiet_period_seconds == 300
    assert model.pipeline.concurrency == "queue"
    assert model.pipeline.parameters == {}


def test_sibling_prefixes_sharing_a_name_stem_do_not_overlap():
    churn2 = (
        CHURN.replace("- name: churn", "- name: churn2")
        .replace("datasets/churn/", "datasets/churn2/")
        .replace("churn-models", "churn2-models")
    )

    config = parse_config(config_text(CHURN, churn2))

    assert config.model_for_key("datasets/churn2/2026-11-27/_SUCCESS").name == "churn2"
    assert config.model_for_key("datasets/churn/2026-11-27/_SUCCESS").name == "churn"


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("datasets/churn/2026-11-27/_SUCCESS", "churn"),
        ("datasets/fraud/2026/11/27/part-0.csv", "fraud"),
        ("datasets/churn", None),
        ("datasets/other/2026-11-27/_SUCCESS", None),
        ("controlplane/runs/churn.json", None),
    ],
)
def test_model_for_key_finds_the_model_whose_prefix_holds_the_key(key, expected):
    model = bundled_config().model_for_key(key)

    assert (model.name if model else None) == expected


def test_unknown_model_names_the_known_models():
    with pytest.raises(UnknownModel) as raised:
        bundled_config().model("churnn")

    message = str(raised.value)
    assert "'churnn' is not configured" in message
    assert "known models: churn, fraud" in message
    assert "models:" in message
    # Step Functions routes on the class name; an unknown model is an invalid request.
    assert isinstance(raised.value, InvalidRequest)


# --- invalid configs: each names the file, the field path and the fix ------------------------------------

INVALID_CONFIGS = [
    pytest.param(
        config_text(CHURN.replace("prefix: datasets/churn/", "prefix: datasets/churn/\n      mod: marker")),
        ["models[0].data_trigger.mod", "fix: remove it or correct its spelling"],
        id="unknown-field",
    ),
    pytest.param(
        config_text(CHURN.replace("    pipeline:\n      name: churn-training\n", "")),
        ["models[0].pipeline", "Field required", "fix: add it"],
        id="missing-pipeline",
    ),
    pytest.param(
        config_text(CHURN, FRAUD.replace("datasets/fraud/", "datasets/churn/fraud/")),
        ["data_trigger.prefix", "'churn'", "'fraud'", "overlap", "give each model its own prefix"],
        id="overlapping-model-prefixes",
    ),
    pytest.param(
        config_text(CHURN.replace("datasets/churn/", "controlplane/churn/")),
        ["data_trigger.prefix", "output_prefixes", "'controlplane/'", "move one of them"],
        id="prefix-overlaps-output-prefixes",
    ),
    pytest.param(
        config_text(CHURN.replace("prefix: datasets/churn/", "prefix: datasets/churn/\n      mode: eager")),
        ["models[0].data_trigger.mode", "'marker' or 'quiet_period'", "fix: use one of the allowed values"],
        id="bad-mode",
    ),
    pytest.param(
        config_text(CHURN.replace("prefix: datasets/churn/", "prefix: datasets/churn")),
        ["models[0].data_trigger.prefix", "must be a key prefix ending in '/'", "e.g. 'datasets/churn/'"],
        id="prefix-without-trailing-slash",
    ),
    pytest.param(
        config_text(
            CHURN.replace(
                "prefix: datasets/churn/",
                "prefix: datasets/churn/\n      dataset_depth: 2\n      dataset_pattern: '^\\d{4}/'",
            )
        ),
        ["models[0].data_trigger", "set either dataset_depth or dataset_pattern, not both"],
        id="depth-and-pattern",
    ),
    pytest.param(
        config_text(
            CHURN.replace("prefix: datasets/churn/", "prefix: datasets/churn/\n      dataset_pattern: '^(\\d'")
        ),
        ["models[0].data_trigger.dataset_pattern", "not a valid regular expression", "missing ), unterminated"],
        id="invalid-regex",
    ),
    pytest.param(
        config_text(
            CHURN.replace(
                "name: churn-training", "name: churn-training\n      parameters:\n        Input: '{dataset_url}'"
            )
        ),
        ["models[0].pipeline.parameters", "unknown placeholder(s) ['dataset_url']", "use only ['bucket', 'dataset_id'"],
        id="unknown-placeholder",
    ),
    pytest.param(
        config_text(CHURN, CHURN.replace("datasets/churn/", "datasets/churn-v2/")),
        ["model name 'churn' appears twice", "give each model a unique name"],
        id="duplicate-model-names",
    ),
    pytest.param(
        config_text(CHURN.replace("- name: churn", "- name: Churn_Model")),
        ["models[0].name", "(got 'Churn_Model')", "fix: write it as the pattern requires"],
        id="bad-model-name",
    ),
    pytest.param(
        "version: 1\nmodels: []\n",
        ["models:", "fix: add at least one entry"],
        id="no-models",
    ),
]


@pytest.mark.parametrize(("text", "expected_fragments"), INVALID_CONFIGS)
def test_invalid_config_names_file_field_and_fix(tmp_path, text, expected_fragments):
    path = write_config(tmp_path, text)

    message = load_error(path)

    assert message.startswith(f"{path}: invalid control-plane config (1 problem(s)):")
    for fragment in expected_fragments:
        assert fragment in message


def test_every_problem_is_listed_on_its_own_line(tmp_path):
    text = config_text(
        CHURN.replace("prefix: datasets/churn/", "prefix: datasets/churn/\n      mode: eager\n      quiet: 5")
    )

    lines = load_error(write_config(tmp_path, text)).splitlines()

    assert lines[0].endswith("invalid control-plane config (2 problem(s)):")
    assert sorted(line.split(":")[0].strip() for line in lines[1:]) == [
        "- models[0].data_trigger.mode",
        "- models[0].data_trigger.quiet",
    ]


def test_single_invalid_model_is_not_also_reported_as_no_models(tmp_path):
    # pydantic reports a tuple whose only item failed as "too short"; that would wrongly say "add an entry".
    text = config_text(CHURN.replace("prefix: datasets/churn/", "prefix: datasets/churn/\n      mode: eager"))

    message = load_error(write_config(tmp_path, text))

    assert "add at least one entry" not in message
    assert "(1 problem(s))" in message


def test_not_yaml_names_the_file(tmp_path):
    path = write_config(tmp_path, "version: [1\nmodels: {")

    message = load_error(path)

    assert message.startswith(f"{path}: not valid YAML")
    assert "line 1" in message


@pytest.mark.parametrize("text", ["", "# only a comment\n", "- version: 1\n"], ids=["empty", "comment-only", "list"])
def test_document_that_is_not_a_mapping_says_what_the_top_level_needs(tmp_path, text):
    path = write_config(tmp_path, text)

    assert load_error(path) == f"{path}: expected a mapping with 'version' and 'models' at the top level"


def test_missing_file_names_the_path_and_the_reason(tmp_path):
    path = tmp_path / "absent.yaml"

    message = load_error(path)

    assert message == f"{path}: cannot read the control-plane config (No such file or directory)"


def test_directory_instead_of_file_is_a_config_error(tmp_path):
    message = load_error(tmp_path)

    assert message.startswith(f"{tmp_path}: cannot read the control-plane config")


def test_parse_config_uses_the_given_source_name():
    with pytest.raises(ConfigError, match=r"^inline\.yaml: invalid control-plane config"):
        parse_config("version: 2\n" + config_text(CHURN, header=""), "inline.yaml")


def test_two_models_may_not_share_a_model_package_group():
    churn2 = CHURN.replace("- name: churn", "- name: churn2").replace("datasets/churn/", "datasets/churn2/")

    with pytest.raises(ConfigError, match=r"model_package_group \['churn-models'\] is used by more than one model"):
        parse_config(config_text(CHURN, churn2))


# --- trust: detectors and dataset locations ----------------------------------------------------------------


def test_bundled_config_trusts_its_evidently_detector_for_churn():
    assert bundled_config().detector_sources() == {"custom.evidently"}
    assert bundled_config().model("churn").drift.detector_sources == {"custom.evidently"}


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("    drift: {detectors: [{source: aws.sagemaker}]}\n", "'aws.sagemaker' is reserved"),
        ("    drift: {detectors: [{source: mlops.controlplane}]}\n", "'mlops.controlplane' is reserved"),
        ("    drift: {detectors: [{source: 'has space'}]}\n", "drift.detectors[0].source"),
        (
            "    drift: {retrain_dataset_uri: 's3://other/datasets/fraud/x/'}\n",
            "drift.retrain_dataset_uri 's3://other/datasets/fraud/x/' is neither under data_trigger.prefix "
            "'datasets/churn/' nor under allowed_dataset_prefixes",
        ),
        ("    allowed_dataset_prefixes: ['s3://shared/churn']\n", "allowed_dataset_prefixes[0]"),
        ("    allowed_dataset_prefixes: ['datasets/churn/']\n", "allowed_dataset_prefixes[0]"),
    ],
)
def test_untrustworthy_detectors_and_dataset_locations_are_config_errors(extra, expected):
    with pytest.raises(ConfigError) as raised:
        parse_config(config_text(CHURN + extra))
    assert expected in str(raised.value)


def test_a_retrain_dataset_in_an_allowed_location_is_accepted():
    extra = (
        "    allowed_dataset_prefixes: ['s3://shared/churn/']\n"
        "    drift: {retrain_dataset_uri: 's3://shared/churn/golden/'}\n"
    )
    model = parse_config(config_text(CHURN + extra)).model("churn")

    assert model.dataset_location_problem("s3://shared/churn/golden/", "data") is None
    assert model.dataset_location_problem("s3://data/datasets/churn/2026-11-27/", "data") is None
    assert model.dataset_location_problem("s3://shared/churnish/x/", "data") is not None
