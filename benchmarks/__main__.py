"""`python -m benchmarks` (`make bench`): ingress throughput in the local cloud and handler cold starts, as numbers.

Each ingress scenario runs in a fresh process (`python -m benchmarks.ingress`), so that its max RSS is its own.
The only check is about correctness, never about time: every scenario must start exactly one SageMaker Pipeline
execution for its dataset, and every handler module must import; otherwise the exit status is 1.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from benchmarks import coldstart

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ("churn", "fraud")
_MIB = 1024 * 1024


# ----------------------------------------------------------------------------------------------------- running


def run_ingress(
    dataset: str,
    events: int,
    path: str = "put_event",
    settle_every: int | None = None,
    extra: Iterable[str] = (),
) -> dict[str, Any]:
    """One scenario in a fresh `python -m benchmarks.ingress` process; its JSON result, or an `error`."""
    command = [sys.executable, "-m", "benchmarks.ingress", "--dataset", dataset, "--events", str(events)]
    command += ["--path", path, *extra]
    if settle_every is not None:
        command += ["--settle-every", str(settle_every)]
    if sys.stderr.isatty():
        command.append("--progress")
    print(f"running {dataset} ({path}, {events} events{', ' + ' '.join(extra) if extra else ''})...", file=sys.stderr)
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not lines:
        return {
            "scenario": dataset,
            "path": path,
            "events": events,
            "error": f"`{' '.join(command[1:])}` exited with status {completed.returncode}; its traceback is above",
        }
    result: dict[str, Any] = json.loads(lines[-1])
    result["process_seconds"] = round(time.perf_counter() - started, 1)
    return result


def run_deployment() -> dict[str, Any]:
    """`python -m benchmarks.deployment` in a fresh process; its JSON result, or an `error`."""
    command = [sys.executable, "-m", "benchmarks.deployment"]
    completed = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
    lines = completed.stdout.strip().splitlines()
    if not lines:
        return {"equal": False, "error": f"`python -m benchmarks.deployment` exited with status {completed.returncode}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def deployment_table(result: dict[str, Any]) -> str:
    if "error" in result:
        return f"Deployment costs: {result['error']}"
    rows = [
        [label, run["status"], str(run["state_transitions"]), str(run["lambda_invocations"])]
        for label, run in (
            ("canary, SageMaker bakes 60 s", result["canary_bake_60s"]),
            ("canary, SageMaker bakes 3600 s", result["canary_bake_3600s"]),
            ("canary rolled back by an alarm", result["rolled_back"]),
        )
    ]
    return "Deployment costs (one deploy execution):\n" + _table(
        ["deployment", "status", "state transitions", "Lambda invocations"], rows
    )


def guard(result: dict[str, Any]) -> str | None:
    """Why a scenario's result cannot be trusted, or None."""
    if "error" in result:
        return f"{result['scenario']} ({result['path']}): {result['error']}"
    started = result["pipeline_executions_started"]
    if started != 1:
        errors = "; ".join(result["execution_errors"]) or "no execution error recorded"
        return (
            f"{result['scenario']} ({result['path']}, {result['events']} events) started {started} pipeline "
            f"executions, expected exactly 1 ({errors})"
        )
    return None


def host() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(load, 2) for load in os.getloadavg()],
        "moto": coldstart.installed_version("moto"),
        "boto3": coldstart.installed_version("boto3"),
    }


# ----------------------------------------------------------------------------------------------------- tables


def _table(header: list[str], rows: list[list[str]]) -> str:
    """Left-aligned labels, right-aligned numbers, a rule under the header."""
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * width for width in widths))
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _mib(value: int | None) -> str:
    return "-" if value is None else f"{value / _MIB:,.0f}"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(counts.items())) or "none"


def _settle_every(result: dict[str, Any]) -> str:
    if not result["settle_every"]:
        return "never (one burst)"
    same = " (= BatchSize)" if result["settle_every"] == result["batch_size"] else ""
    return f"{result['settle_every']}{same}"


def ingress_table(results: list[dict[str, Any]]) -> str:
    ok = [result for result in results if "error" not in result]
    if not ok:
        return "Ingress throughput: no scenario finished (see the errors below)."
    header = [
        "Ingress throughput (local cloud)",
        *[f"{r['scenario']} ({r['trigger']}, {r['events']:,})" for r in ok],
    ]

    def row(label: str, cell: Any) -> list[str]:
        return [label, *[str(cell(result)) for result in ok]]

    def executions(result: dict[str, Any]) -> str:
        started = result["pipeline_executions_started"]
        return f"{started} (ok)" if started == 1 else f"{started} (EXPECTED 1)"

    rows = [
        row("path", lambda r: r["path"]),
        row("events (S3 Object Created)", lambda r: f"{r['events']:,}"),
        row("  matched by the ingress rule", lambda r: f"{r['s3_events_matched']:,}"),
        row("settle every N events", _settle_every),
        row("pipeline executions started", executions),
        row("retrain executions", lambda r: _counts(r["retrain_executions"])),
        row("DataIngressFunction invocations", lambda r: f"{r['ingress_invocations']:,}"),
        row("  records per invocation (mean)", lambda r: f"{r['events'] / max(1, r['ingress_invocations']):.1f}"),
        row("  records redelivered (batchItemFailures)", lambda r: r["ingress_failed_records"]),
        row("  invocation errors", lambda r: r["ingress_invocation_errors"]),
        row("ledger writes by the ingress", lambda r: f"{r['ledger_writes']['writes']:,}"),
        row("  per object", lambda r: f"{r['ledger_writes']['writes_per_object']:.5f}"),
        row("  most on one item", lambda r: f"{r['ledger_writes']['max_writes_to_one_item']:,}"),
        row(
            "  most on one item in one batch", lambda r: r["ledger_writes"]["max_writes_to_one_item_in_one_invocation"]
        ),
        row(
            "  batches writing an item twice",
            lambda r: r["ledger_writes"]["invocations_writing_an_item_more_than_once"],
        ),
        row("dead letters", lambda r: _counts(r["dead_letters"])),
        row("handler stdout lines (EMF flushes)", lambda r: r.get("handler_stdout_lines", "-")),
        row("enqueue s (put -> rule -> SQS)", lambda r: f"{r['seconds']['enqueue']:.2f}"),
        row("drain s (SQS -> Lambda, in the stream)", lambda r: f"{r['seconds']['drain']:.2f}"),
        row("final settle s (workflow to its end)", lambda r: f"{r['seconds']['final_settle']:.2f}"),
        row("wall s", lambda r: f"{r['seconds']['wall']:.2f}"),
        row("events per second (wall)", lambda r: f"{r['events_per_second']:,.1f}"),
        row("max RSS MiB, before events", lambda r: _mib(r["memory"]["max_rss_before_events_bytes"])),
        row("max RSS MiB, at the end", lambda r: _mib(r["memory"]["max_rss_bytes"])),
        row(
            "tracemalloc peak MiB (separate run)",
            lambda r: _mib(r["memory"]["tracemalloc_peak_bytes"]) if r.get("tracemalloc_run") else "- (--tracemalloc)",
        ),
    ]
    return _table(header, rows)


def comparison_table(results: list[dict[str, Any]]) -> str:
    ok = [result for result in results if "error" not in result]
    if not ok:
        return ""
    header = [f"Ingress path, churn, {ok[0]['events']:,} events", *[r["path"] for r in ok]]
    rows = [
        ["enqueue s", *[f"{r['seconds']['enqueue']:.2f}" for r in ok]],
        ["enqueue events per second", *[f"{r['events'] / max(r['seconds']['enqueue'], 1e-9):,.0f}" for r in ok]],
        ["wall s", *[f"{r['seconds']['wall']:.2f}" for r in ok]],
        ["events per second (wall)", *[f"{r['events_per_second']:,.1f}" for r in ok]],
        ["pipeline executions started", *[str(r["pipeline_executions_started"]) for r in ok]],
    ]
    return _table(header, rows)


def coldstart_table(measured: dict[str, Any]) -> str:
    header = [
        f"Cold start, CPU ms (Lambda-like sandbox, median of {measured['runs']} pairs)",
        "import app",
        "x import boto3",
        "first event",
        "x import boto3",
    ]
    rows = []
    for name, probes in measured["handlers"].items():
        imported, first = probes["import"], probes.get("first_event")
        rows.append(
            [
                f"functions/{name}",
                f"{imported['ms']:.0f}",
                f"{imported['ratio']:.2f}",
                f"{first['ms']:.0f}" if first else "-",
                f"{first['ratio']:.2f}" if first else "- (no event in the story)",
            ]
        )
    floor = measured.get("stack_floor")
    if floor:
        rows.append(["stack floor: botocore, Powertools Logger + Metrics, one pydantic model", f"{floor['ms']:.0f}"])
        rows[-1] += [f"{floor['ratio']:.2f}", "-", "-"]
    return _table(header, rows)


def _ratios(measured: dict[str, Any], probe: str) -> str:
    ratios = sorted(probes[probe]["ratio"] for probes in measured["handlers"].values() if probe in probes)
    if not ratios:
        return "-"
    return f"{statistics.median(ratios):.2f} median ({ratios[0]:.2f}-{ratios[-1]:.2f})"


def targets_table(report: dict[str, Any]) -> str:
    """Each target of issue 10 next to the figure this run measured ("-" where it was not measured)."""
    ok = [result for result in report["ingress"] if "error" not in result]
    quiet = max((r for r in ok if r["trigger"] == "quiet_period"), key=lambda r: r["events"], default=None)
    marker = max((r for r in ok if r["trigger"] == "marker"), key=lambda r: r["events"], default=None)
    ten_thousand = [r for r in ok if r["events"] == 10_000]
    measured = report.get("coldstart")
    rows = [
        ["ledger writes per object, quiet period", "<= 0.01", "-"],
        ["  most writes on one item in one SQS batch", "1", "-"],
        ["ledger writes per object, marker", "0.001 (keep)", "-"],
        ["ingress invocations per object", "0.01 (keep)", "-"],
        [
            "import app, x import boto3",
            "<= 1.5",
            f"{_ratios(measured, 'import')}; stack floor {measured['stack_floor']['ratio']:.2f}" if measured else "-",
        ],
        ["first event, x import boto3", "<= 2.5", _ratios(measured, "first_event") if measured else "-"],
        [
            "shared layer, unzipped MB",
            "<= 20",
            f"{measured['sizes']['layer']['unzipped_bytes'] / 1e6:.1f}" if measured else "-",
        ],
        [
            "10,000-event ingress, wall s",
            "<= 60",
            ", ".join(f"{r['scenario']} {r['seconds']['wall']:.1f}" for r in ten_thousand) or "-",
        ],
        ["make test on a fresh clone, 2 cores", "<= 3 min", "not measured here: time make test"],
    ]
    if quiet is not None:
        writes = quiet["ledger_writes"]
        rows[0][2] = f"{writes['writes_per_object']:.5f} ({quiet['events']:,} objects)"
        rows[1][2] = (
            f"{writes['max_writes_to_one_item_in_one_invocation']} "
            f"({writes['invocations_writing_an_item_more_than_once']} batch(es) wrote an item twice)"
        )
    if marker is not None:
        rows[2][2] = f"{marker['ledger_writes']['writes_per_object']:.5f}"
    invoked = [r for r in (quiet, marker) if r is not None]
    if invoked:
        rows[3][2] = ", ".join(f"{r['scenario']} {r['ingress_invocations'] / r['events']:.4f}" for r in invoked)
    return _table(["Issue 10 targets", "target", "this run"], rows)


def size_table(sizes: dict[str, Any]) -> str:
    layer = sizes["layer"]
    rows = [["shared layer (arm64 build)", _kib(layer["unzipped_bytes"]), _kib(layer["zipped_bytes"])]]
    rows += [
        [f"functions/{name}", _kib(size["unzipped_bytes"]), _kib(size["zipped_bytes"])]
        for name, size in sizes["functions"].items()
    ]
    return _table(["Package sizes", "unzipped KiB", "zipped KiB"], rows)


def _kib(value: int) -> str:
    return f"{value / 1024:,.1f}"


def profile_table(result: dict[str, Any]) -> str:
    profile = result.get("profile") or {}
    blocks = []
    for key, title in (("by_cumulative_time", "cumulative"), ("by_own_time", "own time")):
        rows = [
            [
                entry["function"],
                f"{entry['calls']:,}",
                f"{entry['cumulative_seconds']:.2f}",
                f"{entry['own_seconds']:.2f}",
            ]
            for entry in profile.get(key, [])
        ]
        header = [f"cProfile, churn, {result['events']:,} events, top 10 by {title}", "calls", "cum s", "own s"]
        blocks.append(_table(header, rows))
    caveat = (
        "(cProfile of Python 3.12+ sees every thread, moto's Step Functions workers included, so cumulative "
        "times can add up to more than the wall time; a profiled run is slower than the unprofiled one.)"
    )
    return "\n\n".join([*blocks, caveat])


# ----------------------------------------------------------------------------------------------------- main


def notes(report: dict[str, Any]) -> list[str]:
    found = [
        "Numbers are wall-clock on this machine; nothing is asserted about time. Load average at start: "
        + ", ".join(str(load) for load in report["host"]["load_average_at_start"])
        + f" on {report['host']['cpus']} CPUs.",
    ]
    settle_every = next((r["settle_every"] for r in report["ingress"] if "error" not in r), None)
    if settle_every:
        found.append(
            f"The local cloud settles after every {settle_every} events (the ingress BatchSize): the event source "
            "mapping keeps up with the stream, as on AWS, and virtual time moves 1 s per 1,000 events. "
            "--settle-every 0 queues every event before the first poll instead (the local cloud's event source "
            "mapping reads the queue in constant work per message, localcloud/queues.py)."
        )
    if report.get("coldstart"):
        found.append(
            "Cold start: CPU time (user + system) of a fresh process in a Lambda-like sandbox: no site-packages, "
            "the layer as `make build-CommonLayer` builds it (for this host) first on the path, boto3 and "
            "botocore at the pinned versions standing in for the runtime's, Lambda's variables (the trace header "
            "on), no bytecode written. Each probe runs in pairs with `import boto3`; the ratio is the median of the "
            "pairs' ratios. The first event is the first one each function got in the demo story, against a moto "
            "server holding the story's end state; the Lambda runtime's own startup is not included, nor the "
            "interpreter's finalization (each probe ends with os._exit, as an execution environment never finalizes "
            "during a cold start)."
        )
    return found


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--events", type=int, default=10_000, help="S3 events per dataset (default 10000)")
    parser.add_argument(
        "--settle-every",
        type=int,
        default=None,
        help="let the local cloud poll and run after every N events (default: the ingress BatchSize of the "
        "template); 0 = queue every event, then settle once",
    )
    parser.add_argument(
        "--burst-objects",
        type=int,
        default=100_000,
        help="objects of the quiet-period burst into one dataset, for its ledger writes (default 100000; 0 skips)",
    )
    parser.add_argument(
        "--s3-events",
        type=int,
        default=200,
        help="events for the comparison of put_event with S3 PutObject (default 200; 0 skips it)",
    )
    parser.add_argument("--skip-coldstart", action="store_true", help="do not measure handler import times")
    parser.add_argument(
        "--skip-deployment", action="store_true", help="do not measure the cost of a deployment (bake 60 s vs 3600 s)"
    )
    parser.add_argument(
        "--coldstart-runs", type=int, default=coldstart.DEFAULT_PAIRS, help="pairs per cold-start probe (default 15)"
    )
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also run each scenario under tracemalloc and report its peak (a separate run, 3-5x slower)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="also run the churn scenario under cProfile and print its top 10"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    arguments = parser.parse_args(argv)
    if arguments.events < 1:
        parser.error("--events must be at least 1")
    if arguments.settle_every is not None and arguments.settle_every < 0:
        parser.error("--settle-every must be 0 or more")
    return arguments


def collect(arguments: argparse.Namespace) -> dict[str, Any]:
    """Run every measurement the arguments ask for; the whole report, `ok` False when a guard failed."""
    started = time.perf_counter()
    report: dict[str, Any] = {"host": host()}
    if not arguments.skip_coldstart:
        print(f"measuring cold starts ({arguments.coldstart_runs} runs per probe)...", file=sys.stderr)
        try:
            report["coldstart"] = coldstart.measure(arguments.coldstart_runs)
        except (RuntimeError, subprocess.CalledProcessError) as error:  # a handler that does not import, a build
            report["coldstart_error"] = str(error)
    report["ingress"] = [run_ingress(name, arguments.events, settle_every=arguments.settle_every) for name in SCENARIOS]
    if arguments.burst_objects:
        report["ingress"].append(run_ingress("fraud", arguments.burst_objects, settle_every=arguments.settle_every))
    runs = list(report["ingress"])
    if arguments.tracemalloc:
        for result in report["ingress"]:
            if "error" not in result:
                traced = run_ingress(
                    result["scenario"], arguments.events, settle_every=arguments.settle_every, extra=["--tracemalloc"]
                )
                result["tracemalloc_run"] = traced
                result["memory"]["tracemalloc_peak_bytes"] = traced.get("memory", {}).get("tracemalloc_peak_bytes")
                runs.append(traced)
    report["path_comparison"] = [
        run_ingress("churn", arguments.s3_events, path=path, settle_every=arguments.settle_every)
        for path in ("put_event", "s3")
        if arguments.s3_events
    ]
    runs += report["path_comparison"]
    if arguments.profile:
        report["profile_run"] = run_ingress(
            "churn", arguments.events, settle_every=arguments.settle_every, extra=["--profile"]
        )
        runs.append(report["profile_run"])
    if not arguments.skip_deployment:
        print("measuring deployment costs (canary with bake 60 s and 3600 s, rollback)...", file=sys.stderr)
        report["deployment"] = run_deployment()
    problems = [problem for result in runs if (problem := guard(result))]
    deployment = report.get("deployment")
    if deployment is not None and not deployment.get("equal"):
        problems.append(f"deployment costs depend on the bake time: {deployment}")
    if "coldstart_error" in report:
        problems.append(f"cold start not measured: {report['coldstart_error']}")
    report["problems"] = problems
    report["ok"] = not problems
    report["notes"] = notes(report)
    report["benchmark_seconds"] = round(time.perf_counter() - started, 1)
    return report


def render(report: dict[str, Any]) -> str:
    sections = [ingress_table(report["ingress"])]
    if report["path_comparison"]:
        sections.append(comparison_table(report["path_comparison"]))
    if "coldstart" in report:
        sections.append(coldstart_table(report["coldstart"]))
        sections.append(size_table(report["coldstart"]["sizes"]))
    if "deployment" in report:
        sections.append(deployment_table(report["deployment"]))
    if "profile_run" in report and "error" not in report["profile_run"]:
        sections.append(profile_table(report["profile_run"]))
    sections.append(targets_table(report))
    sections.append("Notes:\n" + "\n".join(f"- {note}" for note in report["notes"]))
    if report["problems"]:
        sections.append("PROBLEMS:\n" + "\n".join(f"- {problem}" for problem in report["problems"]))
    sections.append(f"(benchmark took {report['benchmark_seconds']:.0f} s)")
    return "\n\n".join(section for section in sections if section)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    report = collect(arguments)
    print(json.dumps(report, indent=2) if arguments.json else render(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
