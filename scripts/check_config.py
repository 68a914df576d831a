"""Validate the control-plane config (default: the bundled one), check that every model names its owner and
maturity, and check it against the template: its IAM must allow every SageMaker pipeline, endpoint, model and
endpoint config the config implies, and its DriftDetected rule must match exactly the config's drift detectors;
exit 1 with the problems on stderr. `--explain` prints each model's effective automation policy."""

import shlex
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common")]

from controlplane.config import ControlPlaneConfig, load_config  # noqa: E402
from controlplane.errors import ConfigError  # noqa: E402
from localcloud.template import load_template  # noqa: E402
from scripts.sagemaker_access import iam_statements, unmet_needs  # noqa: E402

# The template parameters that must agree with the config.
CHECKED_PARAMETERS = ("ManagedModelNames", "DriftDetectorSources")


def deployed_overrides(samconfig: Path = ROOT / "samconfig.toml") -> dict[str, dict[str, str]]:
    """The CHECKED_PARAMETERS each samconfig.toml environment overrides (environments that override none: omitted)."""
    overrides = {}
    for environment, commands in tomllib.loads(samconfig.read_text(encoding="utf-8")).items():
        if not isinstance(commands, dict):
            continue
        text = commands.get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
        pairs = dict(item.split("=", 1) for item in shlex.split(text) if "=" in item)
        checked = {name: pairs[name] for name in CHECKED_PARAMETERS if name in pairs}
        if checked:
            overrides[environment] = checked
    return overrides


def detector_source_problems(config: ControlPlaneConfig, parameter_value: str) -> list[str]:
    """Where DriftDetectorSources (the DriftDetected rule's sources) and the config's drift detectors differ."""
    listed = {source.strip() for source in parameter_value.split(",") if source.strip()}
    configured = config.detector_sources()
    problems = [
        f"drift detector source '{source}' is not in DriftDetectorSources, so the rule drops its events; add it"
        for source in sorted(configured - listed)
    ]
    problems += [
        f"DriftDetectorSources lists '{source}', which no model's drift.detectors names; remove it"
        for source in sorted(listed - configured)
    ]
    return problems


def template_default(name: str, template_path: Path = ROOT / "template.yaml") -> str:
    return str(load_template(template_path)["Parameters"][name].get("Default", ""))


def governance_problems(config: ControlPlaneConfig) -> list[str]:
    """Every model under control answers to an owner and states how much runs by itself."""
    return [
        f"model '{model.name}' names no {missing}; add `{missing}:` to it (README, Governance)"
        for model in config.models
        for missing, value in (("owner", model.owner), ("maturity", model.maturity))
        if value is None
    ]


def explain(config: ControlPlaneConfig) -> str:
    """Each model's owner, maturity and effective automation, with where each value comes from."""
    lines = []
    for model in config.models:
        owner = f"{model.owner.team} <{model.owner.contact}>" if model.owner else "(no owner)"
        lines.append(f"{model.name}: owner {owner}, maturity {model.maturity or '(unset)'}")
        lines += [
            f"  {line.setting}: {'yes' if line.value else 'no'} ({line.source})" for line in model.effective_policy()
        ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    arguments = [argument for argument in argv[1:] if argument != "--explain"]
    path = arguments[0] if arguments else None
    try:
        config = load_config(path)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 1
    if "--explain" in argv[1:]:
        print(explain(config))
    problems = governance_problems(config)
    problems += [f"template.yaml: {problem}" for problem in unmet_needs(config, iam_statements())]
    problems += [
        f"template.yaml: {problem}"
        for problem in detector_source_problems(config, template_default("DriftDetectorSources"))
    ]
    for environment, overrides in deployed_overrides().items():
        if "ManagedModelNames" in overrides:
            unmet = unmet_needs(config, iam_statements(overrides={"ManagedModelNames": overrides["ManagedModelNames"]}))
            problems += [f"samconfig.toml [{environment}] ManagedModelNames: {problem}" for problem in unmet]
        if "DriftDetectorSources" in overrides:
            differ = detector_source_problems(config, overrides["DriftDetectorSources"])
            problems += [f"samconfig.toml [{environment}]: {problem}" for problem in differ]
    if problems:
        print("The config is not ready to deploy:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print(f"config ok: {len(config.models)} model(s): {', '.join(model.name for model in config.models)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
