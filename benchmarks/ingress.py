"""Ingress throughput: N S3 "Object Created" events for one dataset, through the template's path in the local cloud.

Each event enters with `LocalCloud.put_event`: the real EventBridge rule pattern of the default bus matches it and
moto's SQS target queues it; the local cloud's event source mapping feeds DataIngressFunction in batches of the
template's BatchSize, and the completion marker (churn) or the quiet period (fraud) starts the retrain workflow.
`--path s3` creates the same objects with S3 PutObject instead (moto's S3 then emits the events).

`python -m benchmarks` runs every scenario as `python -m benchmarks.ingress ...` in a fresh process, so that the
process's max RSS belongs to one scenario; this module prints one JSON object on stdout.
"""

import argparse
import contextlib
import cProfile
import hashlib
import io
import itertools
import json
import logging
import pstats
import resource
import sys
import threading
import time
import tracemalloc
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
INGRESS_FUNCTION = "DataIngressFunction"
_EVENT_IDS = uuid.UUID("6f1c2a4e-0d2b-4c55-9a57-2b1f0c3e8d41")  # uuid5 namespace: the same key, the same event id


@dataclass(frozen=True)
class Dataset:
    """One dataset of one model, as the config's data_trigger sees it."""

    model: str
    trigger: str
    part_key: str
    """Key of part `index`, a format string."""
    marker_key: str | None = None
    """Sent last, when the trigger is a completion marker."""

    def key(self, index: int, total: int) -> str:
        if self.marker_key is not None and index == total - 1:
            return self.marker_key
        return self.part_key.format(index=index)


DATASETS = {
    "churn": Dataset(
        "churn",
        "marker",
        "datasets/churn/2026-11-27/part-{index:05d}.parquet",
        marker_key="datasets/churn/2026-11-27/_SUCCESS",
    ),
    "fraud": Dataset("fraud", "quiet_period", "datasets/fraud/2026/11/27/part-{index:05d}.json"),
}
PATHS = ("put_event", "s3")


def object_created_event(
    bucket: str, key: str, sequence: int, at: datetime, account: str, region: str
) -> dict[str, Any]:
    """An S3 "Object Created" event as EventBridge delivers it (compare events/s3-object-created-put.json)."""
    marker = key.rsplit("/", 1)[-1].startswith("_")
    return {
        "version": "0",
        "id": str(uuid.uuid5(_EVENT_IDS, f"{bucket}/{key}")),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": account,
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {
                "key": key,
                "size": 0 if marker else 48_213_377,
                "etag": hashlib.md5(key.encode(), usedforsecurity=False).hexdigest(),
                "sequencer": f"{sequence:018X}",
            },
            "request-id": f"{sequence:016X}",
            "requester": account,
            "source-ip-address": "10.24.8.17",
            "reason": "PutObject",
        },
    }


class LineCounter(io.TextIOBase):
    """Stands in for stdout while handlers run: Powertools prints an EMF blob there whenever a metric reaches
    100 values in one invocation (even with POWERTOOLS_METRICS_DISABLED), which would mix with the result."""

    def __init__(self) -> None:
        self.lines = 0

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        return len(text)


def max_rss_bytes() -> int:
    """The process's peak resident set size so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _short(filename: str) -> str:
    for marker in ("site-packages/", f"{ROOT}/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def top_functions(profiler: cProfile.Profile, sort_index: int, limit: int = 10) -> list[dict[str, Any]]:
    """The profile's top functions; sort_index 3 is cumulative time, 2 own time (pstats' tuple layout)."""
    stats: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    rows = sorted(stats.items(), key=lambda item: item[1][sort_index], reverse=True)[:limit]
    return [
        {
            "function": f"{_short(filename)}:{line}({name})",
            "calls": calls,
            "cumulative_seconds": round(cumulative, 3),
            "own_seconds": round(own, 3),
        }
        for (filename, line, name), (_, calls, own, cumulative, _) in rows
    ]


class LedgerWrites:
    """Counts the DynamoDB writes each Lambda invocation makes, per item: moto's backend is patched for the run.

    A write is any PutItem, UpdateItem or DeleteItem, and each item of a TransactWriteItems, that reached the
    table (a failed conditional write is counted too: DynamoDB charges it and it loads the item's partition).
    """

    _WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")

    def __init__(self) -> None:
        self.by_invocation: dict[tuple[int, str], Counter[tuple[str, str]]] = {}
        self._current = threading.local()  # moto's Step Functions run Lambda tasks on threads of their own
        self._sequence = itertools.count(1)

    @contextlib.contextmanager
    def counting(self, cloud: Any) -> Any:
        from moto.dynamodb.models import DynamoDBBackend  # noqa: PLC0415 - moto is imported by the local cloud

        originals = {name: getattr(DynamoDBBackend, name) for name in self._WRITES}
        original_invoke = cloud.invoke

        def invoke(function: Any, event: Any) -> Any:
            outer = getattr(self._current, "invocation", None)
            self._current.invocation = (next(self._sequence), function.logical_id)
            try:
                return original_invoke(function, event)
            finally:
                self._current.invocation = outer

        def counted(name: str) -> Callable[..., Any]:
            original = originals[name]

            def write(backend: Any, *args: Any, **kwargs: Any) -> Any:
                if getattr(self._current, "transaction", False):
                    return original(backend, *args, **kwargs)  # moto applies a transaction's items one by one
                if name == "transact_write_items":
                    items = [next(iter(item.values())) for item in args[0]]
                    keys = [_item_key(op.get("Key") or op.get("Item") or {}) for op in items]
                else:
                    keys = [_item_key(args[1] if len(args) > 1 else kwargs.get("key") or kwargs.get("item_attrs"))]
                invocation = getattr(self._current, "invocation", None)
                if invocation is not None:
                    self.by_invocation.setdefault(invocation, Counter()).update(keys)
                self._current.transaction = name == "transact_write_items"
                try:
                    return original(backend, *args, **kwargs)
                finally:
                    self._current.transaction = False

            return write

        for name in self._WRITES:
            setattr(DynamoDBBackend, name, counted(name))
        cloud.invoke = invoke
        try:
            yield self
        finally:
            for name, original in originals.items():
                setattr(DynamoDBBackend, name, original)
            cloud.invoke = original_invoke

    def summary(self, function: str, objects: int) -> dict[str, Any]:
        """Writes the function made: per object, per item over the run, and per item within one invocation."""
        invocations = [counts for (_, name), counts in self.by_invocation.items() if name == function]
        per_item: Counter[tuple[str, str]] = Counter()
        for counts in invocations:
            per_item.update(counts)
        hottest = per_item.most_common(1)
        within = [(count, key) for counts in invocations for key, count in counts.items()]
        busiest = max(within, default=(0, ("", "")))
        return {
            "writes": sum(per_item.values()),
            "writes_per_object": round(sum(per_item.values()) / max(1, objects), 5),
            "items_written": len(per_item),
            "max_writes_to_one_item": hottest[0][1] if hottest else 0,
            "hottest_item": "#".join(hottest[0][0]) if hottest else None,
            "max_writes_to_one_item_in_one_invocation": busiest[0],
            "invocations_writing_an_item_more_than_once": sum(1 for count, _ in within if count > 1),
        }


def _item_key(attributes: Any) -> tuple[str, str]:
    """(pk, sk) of a DynamoDB item or key in the wire format ({"S": ...})."""
    return tuple(str(next(iter(dict(attributes or {}).get(name, {"S": "?"}).values()))) for name in ("pk", "sk"))  # type: ignore[return-value]


@dataclass
class StreamTimes:
    """Real seconds spent putting events in, and letting the local cloud work while they arrive."""

    enqueue: float = 0.0
    drain: float = 0.0


def stream(
    cloud: Any,
    send: Callable[[int], None],
    events: int,
    settle_every: int,
    events_per_virtual_second: int,
    progress_label: str | None,
) -> StreamTimes:
    """Send events 0..events-1; every `settle_every` events the local cloud polls its queues and runs."""
    times = StreamTimes()
    started = time.perf_counter()
    for index in range(events):
        before_send = time.perf_counter()
        send(index)
        sent = time.perf_counter()
        times.enqueue += sent - before_send
        done = index + 1
        if settle_every and done % settle_every == 0:
            cloud.settle(fire_timers=False)  # the event source mapping keeps up with the stream
        if settle_every and events_per_virtual_second and done % events_per_virtual_second == 0:
            cloud.advance(1)
        times.drain += time.perf_counter() - sent
        if progress_label and done % max(1, events // 10) == 0:
            print(f"  {progress_label}: {done}/{events} events, {sent - started:.0f} s", file=sys.stderr)
    return times


def outcome(cloud: Any) -> dict[str, Any]:
    """What the events led to: pipeline and workflow executions, ingress invocations, dead letters."""
    from localcloud.report import dead_letters, execution_outcomes, pipeline_executions  # noqa: PLC0415

    invocations = [entry for entry in cloud.timeline if entry.kind == "lambda"]
    ingress = [entry for entry in invocations if entry.data.get("function") == INGRESS_FUNCTION]
    executions = execution_outcomes(cloud)
    pipelines = pipeline_executions(cloud)
    return {
        "s3_events_matched": sum(
            1 for entry in cloud.timeline if entry.kind == "rule" and entry.data["event"].get("source") == "aws.s3"
        ),
        "pipeline_executions_started": len(pipelines),
        "pipeline_statuses": dict(Counter(run["status"] for run in pipelines)),
        "retrain_executions": dict(Counter(execution["status"] for execution in executions.values())),
        "execution_errors": [
            f"{name}: {execution['error']}: {execution['cause']}"
            for name, execution in executions.items()
            if execution["error"]
        ],
        "ingress_invocations": len(ingress),
        "ingress_invocation_errors": sum(1 for entry in ingress if entry.data.get("error")),
        "ingress_failed_records": sum(
            len(entry.data["response"].get("batchItemFailures", []))
            for entry in ingress
            if isinstance(entry.data.get("response"), dict)
        ),
        "lambda_invocations": dict(Counter(entry.data.get("function") for entry in invocations)),
        "dead_letters": {name: count for name, count in dead_letters(cloud).items() if count},
    }


def run(
    dataset_name: str,
    events: int,
    path: str = "put_event",
    settle_every: int | None = None,
    events_per_virtual_second: int = 1000,
    trace_memory: bool = False,
    profile: bool = False,
    progress: bool = False,
) -> dict[str, Any]:
    """Push `events` objects of one dataset through ingress in a fresh local cloud; returns what happened."""
    sys.path[:0] = [str(ROOT / "layers" / "common"), str(ROOT)]
    from controlplane.config import load_config  # noqa: PLC0415 - after sys.path is set
    from localcloud.cloud import ACCOUNT_ID, REGION, LocalCloud  # noqa: PLC0415

    dataset = DATASETS[dataset_name]
    with LocalCloud() as cloud:
        cloud.seed(load_config())
        bucket = cloud.data_bucket
        mapping = next(mapping for mapping in cloud.queue_mappings if mapping.function.logical_id == INGRESS_FUNCTION)
        every = mapping.batch_size if settle_every is None else settle_every

        def put_event(index: int) -> None:
            key = dataset.key(index, events)
            event = object_created_event(bucket, key, index + 1, cloud.clock.now(), ACCOUNT_ID, REGION)
            cloud.put_event(event)

        def put_object(index: int) -> None:
            cloud.put_object(dataset.key(index, events), b"rows")

        rss_before = max_rss_bytes()
        writes = LedgerWrites()
        counting = writes.counting(cloud)
        counting.__enter__()
        if trace_memory:
            tracemalloc.start()
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        times = stream(
            cloud,
            put_event if path == "put_event" else put_object,
            events,
            every,
            events_per_virtual_second,
            f"{dataset_name} ({path})" if progress else None,
        )
        before_final = time.perf_counter()
        cloud.settle()  # the rest of the story: the workflow runs, the pipeline ends on the virtual clock
        finished = time.perf_counter()
        if profiler is not None:
            profiler.disable()
        counting.__exit__(None, None, None)
        traced_peak = tracemalloc.get_traced_memory()[1] if trace_memory else None
        tracemalloc.stop()
        rss_after = max_rss_bytes()
        return {
            "scenario": dataset_name,
            "model": dataset.model,
            "trigger": dataset.trigger,
            "path": path,
            "events": events,
            "settle_every": every,
            "batch_size": mapping.batch_size,
            "events_per_virtual_second": events_per_virtual_second if every else None,
            **outcome(cloud),
            "ledger_writes": writes.summary(INGRESS_FUNCTION, events),
            "seconds": {
                "enqueue": round(times.enqueue, 3),
                "drain": round(times.drain, 3),
                "final_settle": round(finished - before_final, 3),
                "wall": round(finished - started, 3),
            },
            "events_per_second": round(events / (finished - started), 1),
            "memory": {
                "max_rss_before_events_bytes": rss_before,
                "max_rss_bytes": rss_after,
                "tracemalloc_peak_bytes": traced_peak,
            },
            "profile": None
            if profiler is None
            else {"by_cumulative_time": top_functions(profiler, 3), "by_own_time": top_functions(profiler, 2)},
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ingress", description=__doc__)
    parser.add_argument("--dataset", choices=sorted(DATASETS), required=True)
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--path", choices=PATHS, default="put_event")
    parser.add_argument("--settle-every", type=int, default=None)
    parser.add_argument("--events-per-virtual-second", type=int, default=1000)
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--progress", action="store_true")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("moto").setLevel(logging.CRITICAL)  # moto logs every Fail state as an error
    handler_stdout = LineCounter()
    with contextlib.redirect_stdout(handler_stdout):
        result = run(
            arguments.dataset,
            arguments.events,
            path=arguments.path,
            settle_every=arguments.settle_every,
            events_per_virtual_second=arguments.events_per_virtual_second,
            trace_memory=arguments.tracemalloc,
            profile=arguments.profile,
            progress=arguments.progress,
        )
    result["handler_stdout_lines"] = handler_stdout.lines
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
