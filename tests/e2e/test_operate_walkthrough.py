"""The README's Operate walkthrough, run as written: its bash block, in bash, with the AWS CLI and `mlops` as
subprocesses against `python -m localcloud serve` (the clock stopped, so only the walkthrough's own `advance`
steps move it). The only change made to the block is the served cloud's port."""

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import boto3

from tests.e2e.served import HANG_GUARD_SECONDS, LOCAL_CREDENTIALS, ROOT, served_local_cloud

WALKTHROUGH_HEADING = "**A walkthrough on the served local cloud.**"
README_URL = "http://127.0.0.1:4566"


def walkthrough() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"```bash\n(.*?)```", readme[readme.index(WALKTHROUGH_HEADING) :], re.S)
    assert found, "the Operate section lost its walkthrough's bash block"
    return found.group(1)


def _run(script: str, url: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    venv_bin = str(ROOT / ".venv" / "bin")
    environment = {**os.environ, **LOCAL_CREDENTIALS, "COLUMNS": "200", "TMPDIR": str(workdir)}
    environment["PATH"] = os.pathsep.join([venv_bin, environment.get("PATH", "")])
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script.replace(README_URL, url)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS * 10,
        check=False,
    )


def test_the_operate_walkthrough_works_as_written(tmp_path: Path) -> None:
    script = walkthrough()
    assert README_URL in script
    with served_local_cloud(speed=0) as served:
        done = _run(script, served.url, tmp_path)
        assert done.returncode == 0, f"the walkthrough stopped:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        assert "Traceback" not in done.stdout + done.stderr

        # What the walkthrough claims happened, read back from the cloud it ran against.
        for finished in (r"deploy-prod-churn-v1-\S+ SUCCEEDED", r"decision-\S+ SUCCEEDED", r"rollback-\S+ SUCCEEDED"):
            assert re.search(finished, done.stdout), f"no {finished!r} in what the walkthrough printed"
        sagemaker = boto3.client("sagemaker", endpoint_url=served.url, region_name="us-east-1", **_keys())
        version_1 = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-models/1"
        assert _serving_package(sagemaker, "churn-prod") == version_1
        assert _serving_package(sagemaker, "churn-staging") == version_1

        status = _mlops_json(["status", "churn"], served.url, tmp_path)[0]
        stages = {stage["stage"]: stage for stage in status["stages"]}
        assert stages["prod"]["serving_version"] == 1
        assert stages["staging"]["serving_version"] == 1
        assert stages["staging"]["previous_version"] == 2
        assert status["pending_decisions"] == []
        history = iter(record["kind"] for record in _mlops_json(["history", "churn"], served.url, tmp_path))
        story = [
            "TrainingSucceeded",  # 1. the dataset trained
            "DeploymentSucceeded",  # 2. the approval deployed to staging
            "DeploymentSucceeded",  # 3. the promotion to prod
            "DriftIncidentOpened",  # 4. drift: retrain
            "TrainingStarted",
            "DriftIncidentOpened",  # 5. drift within the cooldown: a human decides
            "DriftDecisionRequested",
            "DecisionAnswered",
            "DeploymentSucceeded",  # 6. version 2 to staging, rolled back
            "RollbackSucceeded",
        ]
        missing = [kind for kind in story if kind not in history]  # in this order (`in` consumes the iterator)
        assert not missing, f"the history does not tell the walkthrough's story; first missing: {missing[0]}"
        assert "Traceback" not in served.log()


def _keys() -> dict[str, str]:
    return {"aws_access_key_id": "local", "aws_secret_access_key": "local"}


def _serving_package(sagemaker: Any, endpoint: str) -> str:
    """The model package the endpoint's (only) variant serves, read from SageMaker, not from the ledger."""
    config_name = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    model = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)["ProductionVariants"][0]["ModelName"]
    return str(sagemaker.describe_model(ModelName=model)["PrimaryContainer"]["ModelPackageName"])


def _mlops_json(arguments: list[str], url: str, workdir: Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "mlops"), *arguments, "--json", "--endpoint-url", url, "--stack", "mlops-local"],
        cwd=workdir,
        env={**os.environ, **LOCAL_CREDENTIALS},
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
        check=True,
    )
    return list(json.loads(done.stdout))
