"""Cold start of each Lambda handler in a Lambda-like sandbox, as CPU time next to `import boto3`; the layer's size.

The sandbox is what a function sees on Lambda, minus the runtime's own bootstrap: an interpreter with no
site-packages; the layer as `make build-CommonLayer` builds it (the same target `sam build` runs, for this host's
platform) first on the path, as /opt/python is; then boto3, botocore and their dependencies at the pinned
versions, with bytecode, standing in for the runtime's /var/runtime; the Lambda variables (LAMBDA_TASK_ROOT,
AWS_EXECUTION_ENV, _X_AMZN_TRACE_ID, which botocore passes on as the trace header, as `Tracing: Active` makes
it); no bytecode written, as /opt and /var/task are read-only.

Two probes per handler, each a fresh process: `import app`, and the first event (`import app`, then the handler
on the first event that function received in the local cloud's demo story, against a moto server holding the
story's end state). Each probe runs in pairs with `import boto3` (same sandbox): the ratio of their CPU times
(user + system of the child), median of `runs` pairs. CPU time, not wall time: the machine is shared. Every probe
ends as an execution environment does, killed (`os._exit`): a cold start never pays the interpreter's
finalization, which would otherwise add 10-20% to each probe's time.
"""

import argparse
import contextlib
import hashlib
import io
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import venv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".bench"
HANDLERS = tuple(sorted(path.parent.name for path in (ROOT / "functions").glob("*/app.py")))
# What the Lambda runtime brings (its boto3, botocore and their dependencies), at the dev lock's versions.
RUNTIME_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six")
# On a shared machine one pair's ratio varies widely (one handler's 35 pairs: 1.03-1.85), so a median of 7 pairs
# moves by up to 0.15 from run to run; 15 pairs narrow that by about a third.
DEFAULT_PAIRS = 15
_TRACE_ID = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
# The least a handler on this stack imports: botocore's session (the handlers make their clients from it, without
# boto3: controlplane.adapters.clients), Powertools' Logger and Metrics, pydantic with one model; with the collector
# paused while it loads, as controlplane.coldstart does for every handler.
STACK_FLOOR = """
import gc
gc.disable()

import botocore.session
from aws_lambda_powertools import Logger, Metrics
from pydantic import BaseModel, ConfigDict

Logger(), Metrics()

class Event(BaseModel):
    model_config = ConfigDict(defer_build=True)
    name: str

gc.freeze()
gc.enable()
"""
_FIRST_EVENT = """
import json, os, sys
import app

class Context:
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    function_version = "$LATEST"
    invoked_function_arn = os.environ["PROBE_FUNCTION_ARN"]
    memory_limit_in_mb = 256
    aws_request_id = "probe"
    log_group_name = log_stream_name = "probe"

    @staticmethod
    def get_remaining_time_in_millis():
        return 30_000

with open(os.environ["PROBE_EVENT"]) as file:
    event = json.load(file)
try:
    app.handler(event, Context())
except Exception as error:  # the event's outcome does not matter here, only that it was handled
    print(f"handler raised {type(error).__name__}: {error}", file=sys.stderr)
"""


@dataclass(frozen=True)
class Sandbox:
    python: Path
    layer: Path
    runtime: Path


def installed_version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _locked(names: tuple[str, ...]) -> list[str]:
    pins = {}
    for line in (ROOT / "requirements" / "dev.lock").read_text().splitlines():
        name, _, version = line.partition("==")
        pins[name.strip().lower().replace("_", "-")] = version.strip()
    return [f"{name}=={pins[name]}" for name in names]


def _pip(*arguments: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--quiet", "--disable-pip-version-check", *arguments],
        check=True,
        stderr=subprocess.DEVNULL,
    )


def build_layer(artifacts: Path, platform: str = "") -> Path:
    """`make build-CommonLayer` into `artifacts`; platform "" is this host's (the probes import it here)."""
    subprocess.run(
        ["make", "--silent", "build-CommonLayer", f"ARTIFACTS_DIR={artifacts}", f"LAYER_PLATFORM={platform}"],
        cwd=ROOT / "layers" / "common",
        env={**os.environ, "PYTHON": sys.executable},
        check=True,
        stderr=subprocess.DEVNULL,
    )
    return artifacts / "python"


def prepare_sandbox(layer: Path | None = None) -> Sandbox:
    """The interpreter (cached), the runtime's SDK (cached per pinned versions) and a fresh layer build (or the
    given layer directory, e.g. an older build to compare with)."""
    interpreter = WORK / "python"
    if not (interpreter / "bin" / "python").exists():
        venv.EnvBuilder(with_pip=False, clear=True).create(interpreter)
    pins = _locked(RUNTIME_DISTRIBUTIONS)
    runtime = WORK / f"runtime-{hashlib.sha256(' '.join(pins).encode()).hexdigest()[:12]}"
    if not runtime.exists():
        _pip("install", "--no-deps", "--target", str(runtime), *pins)  # compiles bytecode, as the runtime has it
    return Sandbox(interpreter / "bin" / "python", layer or build_layer(WORK / "layer"), runtime)


def _environment(sandbox: Sandbox, function_dir: Path, extra: dict[str, str]) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": f"{sandbox.layer}{os.pathsep}{sandbox.runtime}",
        "PYTHONDONTWRITEBYTECODE": "1",
        "LAMBDA_TASK_ROOT": str(function_dir),
        "AWS_LAMBDA_FUNCTION_NAME": function_dir.name,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "_X_AMZN_TRACE_ID": _TRACE_ID,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "probe",
        "AWS_SECRET_ACCESS_KEY": "probe",
        **extra,
    }


def cpu_milliseconds(python: Path, code: str, cwd: Path, environment: dict[str, str]) -> tuple[float, str]:
    """User + system CPU time of `python -c code` in a fresh process that then ends without finalizing the
    interpreter, and its stderr (empty when quiet)."""
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(
            [str(python), "-c", f"{code}\nimport os\nos._exit(0)\n"],
            cwd=cwd,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        text = errors.read().strip()
    if process.returncode != 0:
        raise RuntimeError(f"`python -c {code.strip().splitlines()[0]!r}...` in {cwd.name} failed: {text[-600:]}")
    return (usage.ru_utime + usage.ru_stime) * 1000, text


@contextlib.contextmanager
def story_cloud() -> Iterator[tuple[str, dict[str, Any], dict[str, str]]]:
    """The local cloud after the demo story, served over HTTP: its endpoint, each function's first event and
    each function's environment from the template."""
    sys.path[:0] = [str(ROOT / "layers" / "common"), str(ROOT)]
    from moto.server import ThreadedMotoServer  # noqa: PLC0415 - development tools, only in this process

    from controlplane.config import load_config  # noqa: PLC0415
    from localcloud.cloud import LocalCloud  # noqa: PLC0415
    from localcloud.demo import run_story  # noqa: PLC0415

    for noisy in ("moto", "werkzeug"):  # moto logs every Fail state of the story; werkzeug every request
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    first: dict[str, Any] = {}
    invoke = LocalCloud.invoke

    def recording(cloud: LocalCloud, function: Any, event: Any) -> Any:
        first.setdefault(function.code_dir.name, event)
        return invoke(cloud, function, event)

    # On the class, before the cloud exists: its async and stream invokers keep the bound method.
    with mock.patch.object(LocalCloud, "invoke", recording), LocalCloud() as cloud:
        config = load_config()
        cloud.seed(config)
        with contextlib.redirect_stdout(io.StringIO()):
            run_story(cloud, config)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            functions = {function.code_dir.name: function for function in cloud.functions.values()}
            environments = {
                name: {**function.environment, "PROBE_FUNCTION_ARN": function.arn}
                for name, function in functions.items()
            }
            for environment in environments.values():
                for name in ("POWERTOOLS_TRACE_DISABLED", "POWERTOOLS_METRICS_DISABLED", "AWS_SESSION_TOKEN"):
                    environment.pop(name, None)  # Lambda traces (Tracing: Active) and flushes metrics
            yield f"http://{host}:{port}", first, environments  # type: ignore[misc]
        finally:
            server.stop()


def _zip_size(directory: Path) -> tuple[int, int]:
    """(unzipped bytes, zipped bytes) of a directory, as a deployment package, without bytecode caches of the
    checkout."""
    files = [path for path in sorted(directory.rglob("*")) if path.is_file()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(directory))
    return sum(path.stat().st_size for path in files), len(buffer.getvalue())


def sizes() -> dict[str, Any]:
    """The layer as deployed (built for arm64, as the template says) and each function's package."""
    layer = build_layer(WORK / "layer-arm64", platform="manylinux2014_aarch64").parent
    unzipped, zipped = _zip_size(layer)
    functions = {}
    for name in HANDLERS:
        source = ROOT / "functions" / name
        with tempfile.TemporaryDirectory() as scratch:
            package = Path(scratch)
            for path in source.rglob("*"):
                if path.is_file() and "__pycache__" not in path.parts:
                    target = package / path.relative_to(source)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(path.read_bytes())
            functions[name] = dict(zip(("unzipped_bytes", "zipped_bytes"), _zip_size(package), strict=True))
    return {"layer": {"unzipped_bytes": unzipped, "zipped_bytes": zipped}, "functions": functions}


def _pairs(sandbox: Sandbox, code: str, function_dir: Path, environment: dict[str, str], runs: int) -> dict[str, Any]:
    """`runs` pairs of (import boto3, the probe); the reference imports the runtime's boto3, never a copy the
    layer may carry (that copy's cost belongs to the handler)."""
    runtime_only = {**environment, "PYTHONPATH": str(sandbox.runtime)}
    boto3_ms, probe_ms, ratios = [], [], []
    note = ""
    for _ in range(runs):
        reference, _ = cpu_milliseconds(sandbox.python, "import boto3", function_dir, runtime_only)
        measured, note = cpu_milliseconds(sandbox.python, code, function_dir, environment)
        boto3_ms.append(reference)
        probe_ms.append(measured)
        ratios.append(measured / reference)
    return {
        "ms": round(statistics.median(probe_ms), 1),
        "boto3_ms": round(statistics.median(boto3_ms), 1),
        "ratio": round(statistics.median(ratios), 2),
        "handler_error": next((line for line in note.splitlines() if line.startswith("handler raised")), None),
    }


def measure(
    runs: int = DEFAULT_PAIRS, first_event: bool = True, layer: Path | None = None, functions: Path = ROOT / "functions"
) -> dict[str, Any]:
    """Per handler, import and first-event CPU time and their ratio to `import boto3`; the sizes."""
    sandbox = prepare_sandbox(layer)
    results: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        endpoint, events, environments = (
            stack.enter_context(story_cloud()) if first_event else ("", {}, {name: {} for name in HANDLERS})
        )
        for name in HANDLERS:
            function_dir = functions / name
            environment = _environment(sandbox, function_dir, environments.get(name, {}))
            results[name] = {"import": _pairs(sandbox, "import app", function_dir, environment, runs)}
            if name in events:
                with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
                    json.dump(events[name], file)
                served = {**environment, "AWS_ENDPOINT_URL": endpoint, "PROBE_EVENT": file.name}
                try:
                    results[name]["first_event"] = _pairs(sandbox, _FIRST_EVENT, function_dir, served, runs)
                finally:
                    os.unlink(file.name)
    floor = _pairs(sandbox, STACK_FLOOR, functions, _environment(sandbox, functions, {}), runs)
    return {
        "runs": runs,
        "python": sys.version.split()[0],
        "stack_floor": floor,
        "sandbox": {"layer": str(sandbox.layer), "runtime": _locked(RUNTIME_DISTRIBUTIONS)},
        "handlers": results,
        "sizes": sizes() if layer is None else _zip_size(layer.parent),
    }


def compare(baseline: Path, runs: int = 9, functions: Path = ROOT / "functions") -> dict[str, Any]:
    """Per handler, the first event on `baseline` (a built layer's python/ directory, e.g. of an older commit) and
    on a fresh build, alternately: the median of the pairs' CPU ratios (fresh / baseline). Interleaving cancels
    the machine's drift, which a ratio to `import boto3` measured in another run does not."""
    before, after = prepare_sandbox(baseline), prepare_sandbox()
    ratios: dict[str, Any] = {}
    with story_cloud() as (endpoint, events, environments):
        for name in sorted(events):
            function_dir = functions / name
            with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
                json.dump(events[name], file)
            served = {"AWS_ENDPOINT_URL": endpoint, "PROBE_EVENT": file.name}
            samples: dict[Sandbox, list[float]] = {before: [], after: []}
            try:
                for _ in range(runs):
                    for sandbox in (before, after):
                        environment = {**_environment(sandbox, function_dir, environments.get(name, {})), **served}
                        samples[sandbox].append(
                            cpu_milliseconds(sandbox.python, _FIRST_EVENT, function_dir, environment)[0]
                        )
            finally:
                os.unlink(file.name)
            pairs = zip(samples[before], samples[after], strict=True)
            ratios[name] = round(statistics.median(later / earlier for earlier, later in pairs), 3)
    return {"runs": runs, "baseline": str(baseline), "first_event_after_over_before": ratios}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.coldstart", description=__doc__)
    parser.add_argument("--runs", type=int, default=DEFAULT_PAIRS)
    parser.add_argument("--layer", type=Path, help="a built layer's python/ directory instead of a fresh build")
    parser.add_argument("--functions", type=Path, default=ROOT / "functions", help="the handlers' directory")
    parser.add_argument(
        "--compare",
        type=Path,
        metavar="LAYER",
        help="a built layer's python/ directory (e.g. of an older commit): first events on it and on a fresh build, "
        "interleaved",
    )
    arguments = parser.parse_args(argv)
    if arguments.compare:
        print(json.dumps(compare(arguments.compare, arguments.runs, arguments.functions), indent=2))
        return 0
    print(json.dumps(measure(arguments.runs, layer=arguments.layer, functions=arguments.functions), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
