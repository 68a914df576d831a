"""Cold start: the whole-process wall time of importing each Lambda handler module, next to boto3 and an empty Python.

Each probe is a fresh `python -c ...` in the same interpreter as the benchmark; the time is the subprocess's
wall time, start to exit. A handler is imported as the Lambda runtime does it: `import app` with the function's
directory as the working directory and the layer on PYTHONPATH, without any AWS_* or POWERTOOLS_* variable (the
handlers read their environment lazily, so importing must not need one). The "awscrt hidden" variant sets
`sys.modules["awscrt"] = None` first, so botocore behaves as in a venv holding only the runtime dependencies.
Every probe runs once untimed (bytecode caches, page cache), then the probes take turns, `runs` times each.
"""

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HANDLERS = ("data_ingress", "retrain_tasks", "pipeline_events")
_HIDE_AWSCRT = "import sys; sys.modules['awscrt'] = None; "  # botocore treats the CRT as absent on ImportError


@dataclass(frozen=True)
class Probe:
    label: str
    code: str
    cwd: Path
    handler: str | None = None
    awscrt_hidden: bool = False


def probes() -> list[Probe]:
    found = [
        Probe("python -c pass", "pass", ROOT),
        Probe("import boto3", "import boto3", ROOT),
        Probe("import boto3 (awscrt hidden)", _HIDE_AWSCRT + "import boto3", ROOT, awscrt_hidden=True),
    ]
    for name in HANDLERS:
        directory = ROOT / "functions" / name
        found.append(Probe(f"functions/{name}: import app", "import app", directory, handler=name))
    for name in HANDLERS:
        directory = ROOT / "functions" / name
        found.append(
            Probe(
                f"functions/{name}: import app (awscrt hidden)",
                _HIDE_AWSCRT + "import app",
                directory,
                handler=name,
                awscrt_hidden=True,
            )
        )
    return found


def probe_environment() -> dict[str, str]:
    """This process's environment without AWS, Powertools or Python settings, plus the layer on PYTHONPATH."""
    dropped = ("AWS_", "POWERTOOLS_", "_X_AMZN_", "LAMBDA_", "PYTHON")
    environment = {name: value for name, value in os.environ.items() if not name.startswith(dropped)}
    environment["PYTHONPATH"] = str(ROOT / "layers" / "common")
    return environment


def _run_once(probe: Probe, environment: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", probe.code],
        cwd=probe.cwd,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    return time.perf_counter() - started, completed


def installed_version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def measure(runs: int = 7) -> dict[str, Any]:
    """Median (and min) wall milliseconds per probe; a probe that fails says why and is not timed."""
    environment = probe_environment()
    measured = probes()
    errors: dict[str, str] = {}
    for probe in measured:
        _, completed = _run_once(probe, environment)
        if completed.returncode != 0:
            lines = [line.strip() for line in completed.stderr.strip().splitlines()]
            frames = [line for line in lines if line.startswith('File "')]
            frames = [frame for frame in frames if str(ROOT) in frame] or frames  # the project's own frame first
            where = f" ({frames[-1]})" if frames else ""
            errors[probe.label] = f"{lines[-1]}{where}" if lines else f"exit status {completed.returncode}"
    timings: dict[str, list[float]] = {probe.label: [] for probe in measured if probe.label not in errors}
    for _ in range(runs):
        for probe in measured:
            if probe.label in timings:
                seconds, _ = _run_once(probe, environment)
                timings[probe.label].append(seconds * 1000)
    results = []
    for probe in measured:
        samples = timings.get(probe.label, [])
        results.append(
            {
                "label": probe.label,
                "handler": probe.handler,
                "awscrt_hidden": probe.awscrt_hidden,
                "command": f"python -c {probe.code!r}",
                "cwd": str(probe.cwd.relative_to(ROOT)) if probe.cwd != ROOT else ".",
                "median_ms": round(statistics.median(samples), 1) if samples else None,
                "min_ms": round(min(samples), 1) if samples else None,
                "error": errors.get(probe.label),
            }
        )
    by_label = {result["label"]: result for result in results}
    for result in results:
        # Compare like with like: a handler with awscrt hidden against boto3 with awscrt hidden.
        boto3 = by_label["import boto3 (awscrt hidden)" if result["awscrt_hidden"] else "import boto3"]["median_ms"]
        python = by_label["python -c pass"]["median_ms"]
        median = result["median_ms"]
        result["ratio_to_boto3"] = round(median / boto3, 2) if median and boto3 else None
        result["minus_python_ms"] = round(median - python, 1) if median is not None and python is not None else None
    return {
        "runs": runs,
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "environment": "no AWS_*, POWERTOOLS_*, LAMBDA_* or PYTHON* variables; PYTHONPATH=layers/common",
        "aws_sam_cli": installed_version("aws-sam-cli"),
        "awscrt": installed_version("awscrt"),
        "probes": results,
    }
