"""Fault injection: every workflow path, with one transient AWS failure at each of its call sites in turn.

`python -m localcloud faults` runs each scenario once without faults and notes every AWS call the control plane
makes there: its call sites (who calls: a function, or a state machine's service integration; the service; the
operation). It then runs the scenario again once per call site, with the first such call failing as AWS fails
when it throttles (a ClientError that botocore's own retries gave up on), and once per function with its first
invocation timing out after its work was done (its response lost). After the local cloud settles it checks:

- the endpoint serves what the ledger records;
- at most one training of a `queue` model runs at any time;
- every recorded decision is announced exactly once (SNS and the bus), nothing left in the outbox;
- every drift incident ends decided, or its workflow failed (which raises its alarm);
- nothing is lost silently: the outcome is the fault-free run's, or what could not be done sits in a
  dead-letter queue or a failed execution, both alarmed.

It prints the matrix and ends with one JSON line: {"faults": {"combinations": N, "held": M, "failed": [...]}}.
"""

import contextlib
import contextvars
import itertools
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from controlplane.config import load_config
from localcloud.cloud import LocalCloud
from localcloud.report import dead_letters, execution_outcomes, ledger_records
from localcloud.scenarios import (
    AUC_DROP,
    FEATURE_DRIFT,
    create_auc_drop_alarm,
    create_feature_drift_alarm,
    promote,
    register_model_package,
    set_approval,
    upload_dataset,
)

# How each service answers a throttled call (the error code botocore raises once its own retries are spent).
THROTTLE_CODES = {
    "dynamodb": "ProvisionedThroughputExceededException",
    "sns": "Throttling",
    "events": "ThrottlingException",
    "sagemaker": "ThrottlingException",
    "stepfunctions": "ThrottlingException",
    "s3": "SlowDown",
    "sqs": "RequestThrottled",
    "cloudwatch": "Throttling",
    "lambda": "TooManyRequestsException",
}
TIMEOUT = "Timeout"  # the pseudo-operation of a function invocation that times out after its work

# A function that timed out: Step Functions reports it as Lambda.Unknown ("Handle Lambda service exceptions"), and
# the local cloud names an invocation's error after its exception's class.
_TimedOut = type("Lambda.Unknown", (Exception,), {})

_caller: contextvars.ContextVar[str | None] = contextvars.ContextVar("localcloud_fault_caller", default=None)


@dataclass(frozen=True, order=True)
class CallSite:
    caller: str  # a function's logical id, or "StepFunctions" for a state machine's own service integration
    service: str
    operation: str

    def __str__(self) -> str:
        return f"{self.caller} {self.service}:{self.operation}"


@dataclass
class FaultInjector:
    """Notes every AWS call the control plane makes and fails the first call of `target`, once."""

    target: CallSite | None = None
    calls: list[CallSite] = field(default_factory=list)
    fired: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def sites(self) -> list[CallSite]:
        return sorted(set(self.calls))

    def _note(self, site: CallSite) -> bool:
        """Note a call; True when it is the one to fail."""
        with self._lock:
            self.calls.append(site)
            if not self.fired and site == self.target:
                self.fired = True
                return True
            return False

    @contextlib.contextmanager
    def installed(self, cloud: LocalCloud) -> Iterator[None]:
        original_call = BaseClient._make_api_call
        original_load_handler = cloud._load_handler
        injector = self

        def make_api_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
            caller = _caller.get()
            if caller is None and threading.current_thread() is not threading.main_thread():
                caller = "StepFunctions"  # moto runs executions, and their service integrations, on own threads
            if caller is not None:
                service = client.meta.service_model.service_name
                if injector._note(CallSite(caller, service, operation)):
                    code = THROTTLE_CODES.get(service, "ThrottlingException")
                    error = {"Code": code, "Message": f"Rate exceeded (injected fault at {caller})"}
                    metadata = {"HTTPStatusCode": 400, "RequestId": "injected-fault"}
                    raise ClientError({"Error": error, "ResponseMetadata": metadata}, operation)
            return original_call(client, operation, params)

        def load_handler(function: Any) -> Callable[[Any, Any], Any]:
            handler = original_load_handler(function)

            def run(event: Any, context: Any) -> Any:
                token = _caller.set(function.logical_id)
                try:
                    response = handler(event, context)
                finally:
                    _caller.reset(token)
                if injector._note(CallSite(function.logical_id, "lambda", TIMEOUT)):
                    raise _TimedOut("Task timed out after 30.00 seconds")
                return response

            return run

        BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]
        cloud._load_handler = load_handler  # type: ignore[method-assign]
        try:
            yield
        finally:
            BaseClient._make_api_call = original_call  # type: ignore[method-assign]
            del cloud._load_handler


# -- scenarios: each drives a fresh local cloud through one workflow path -------------------------------------


def _approve(cloud: LocalCloud, auc: float) -> str:
    package = register_model_package(cloud, auc)
    cloud.settle()
    set_approval(cloud, package)
    cloud.advance(20 * 60)
    return package


def _promote(cloud: LocalCloud, package: str, name: str) -> None:
    promote(cloud, package, name)
    cloud.advance(40 * 60)


def retrain_queue(cloud: LocalCloud) -> None:
    """Two churn datasets complete at once: the second waits for the model's training slot."""
    cloud.extensions.pipelines.set_pipeline_outcome("churn-training", duration_seconds=600)
    upload_dataset(cloud, "datasets/churn/2026-11-27/")
    upload_dataset(cloud, "datasets/churn/2026-11-28/", parts=0)
    cloud.advance(3 * 60 * 60)


def retrain_skip(cloud: LocalCloud) -> None:
    """Two fraud datasets trickle in: the second is skipped while the first trains (concurrency: skip)."""
    cloud.extensions.pipelines.set_pipeline_outcome("fraud-training", duration_seconds=3600)
    cloud.put_object("datasets/fraud/2026/11/27/a.json")
    cloud.advance(6 * 60)
    cloud.put_object("datasets/fraud/2026/11/28/a.json")
    cloud.advance(3 * 60 * 60)


def deploy_create_update(cloud: LocalCloud) -> None:
    """Version 1 creates churn-staging; version 2 updates it with the canary policy."""
    _approve(cloud, 0.91)
    _approve(cloud, 0.92)


def deploy_rollback(cloud: LocalCloud) -> None:
    """Version 2's canary trips the alarm: SageMaker rolls back, the ledger says so."""
    _approve(cloud, 0.91)
    cloud.extensions.endpoints.set_endpoint_outcome(
        "churn-staging", "rollback", failure_reason="Alarm churn-staging-5xx-errors"
    )
    _approve(cloud, 0.92)


def promotion(cloud: LocalCloud) -> None:
    """Version 1 bakes in staging, then an operator promotes it to prod."""
    package = _approve(cloud, 0.91)
    cloud.advance(30 * 60)
    _promote(cloud, package, "promote-churn-v1-prod")


def drift_rollback(cloud: LocalCloud) -> None:
    """A quality drop right after version 2's promotion rolls prod back to version 1."""
    first = _approve(cloud, 0.91)
    cloud.advance(30 * 60)
    _promote(cloud, first, "promote-churn-v1-prod")
    second = _approve(cloud, 0.93)
    cloud.advance(30 * 60)
    _promote(cloud, second, "promote-churn-v2-prod")
    _quality_alarm(cloud)


def drift_retrain(cloud: LocalCloud) -> None:
    """Feature drift on prod retrains the model on its newest dataset."""
    cloud.extensions.pipelines.set_pipeline_outcome("churn-training", duration_seconds=600)
    upload_dataset(cloud, "datasets/churn/2026-11-27/", parts=0)
    cloud.advance(30 * 60)
    create_feature_drift_alarm(cloud)
    cloud.extensions.monitoring.raise_alarm(
        FEATURE_DRIFT, "ALARM", reason="Threshold Crossed: 1 datapoint [0.31] > 0.1"
    )
    cloud.advance(60 * 60)


def drift_human(cloud: LocalCloud) -> None:
    """A quality drop with no fresh deployment asks a human; nobody answers; the default (dismiss) applies."""
    _quality_alarm(cloud)
    cloud.advance(2 * 60 * 60)


def _quality_alarm(cloud: LocalCloud) -> None:
    create_auc_drop_alarm(cloud)
    cloud.extensions.monitoring.raise_alarm(AUC_DROP, "ALARM", reason="Threshold Crossed: 1 datapoint [0.62] < 0.75")
    cloud.advance(30 * 60)


SCENARIOS: dict[str, Callable[[LocalCloud], None]] = {
    "retrain-queue": retrain_queue,
    "retrain-skip": retrain_skip,
    "deploy-create-update": deploy_create_update,
    "deploy-rollback": deploy_rollback,
    "promotion": promotion,
    "drift-rollback": drift_rollback,
    "drift-retrain": drift_retrain,
    "drift-human": drift_human,
}


# -- invariants ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    facts: tuple[Any, ...]
    problems: tuple[str, ...]
    visible_failures: tuple[str, ...]


def run_scenario(name: str, target: CallSite | None = None) -> tuple[Run, FaultInjector]:
    injector = FaultInjector(target)
    with LocalCloud() as cloud:
        cloud.seed(load_config())
        with injector.installed(cloud):
            SCENARIOS[name](cloud)
            cloud.settle()
        return _observe(cloud), injector


def _observe(cloud: LocalCloud) -> Run:
    records = ledger_records(cloud)
    outcomes = execution_outcomes(cloud)
    problems = [*_endpoint_problems(cloud), *_announcement_problems(cloud, records), *_incident_problems(records)]
    problems += _overlapping_trainings(cloud)
    visible = [f"{queue}: {count}" for queue, count in dead_letters(cloud).items() if count]
    visible += [f"{name} {o['status']}" for name, o in outcomes.items() if o["status"] in {"FAILED", "TIMED_OUT"}]
    facts = (
        tuple(sorted(Counter(record["kind"] for record in records).items())),
        tuple(sorted((name, outcome["status"]) for name, outcome in outcomes.items())),
    )
    return Run(facts, tuple(problems), tuple(visible))


def _ledger_items(cloud: LocalCloud, sk: str) -> list[dict[str, Any]]:
    from boto3.dynamodb.types import TypeDeserializer  # noqa: PLC0415

    deserializer = TypeDeserializer()
    items = []
    for page in cloud.client("dynamodb").get_paginator("scan").paginate(TableName=cloud.ledger_table):
        for raw in page["Items"]:
            item = {key: deserializer.deserialize(value) for key, value in raw.items()}
            if str(item["sk"]).startswith(sk):
                items.append(item)
    return items


def _endpoint_problems(cloud: LocalCloud) -> list[str]:
    problems = []
    for state in _ledger_items(cloud, "STATE"):
        endpoint = str(state["pk"]).removeprefix("ENDPOINT#")
        serving = cloud.client("sagemaker").describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
        if serving != state.get("serving_config"):
            problems.append(f"{endpoint} serves {serving}, the ledger says {state.get('serving_config')}")
    return problems


def _announcement_problems(cloud: LocalCloud, records: list[dict[str, Any]]) -> list[str]:
    notified = Counter(
        json.loads(entry.data["message"]).get("record_id") for entry in cloud.timeline if entry.kind == "sns"
    )
    published = Counter(
        (entry.data.get("detail") or {}).get("record_id") for entry in cloud.timeline if entry.kind == "bus"
    )
    problems = []
    for record in records:
        if "announcement" not in record:
            continue
        record_id = record["record_id"]
        owed = {*(record.get("pending_effects") or ()), *(record.get("claims") or {})}
        if owed:
            problems.append(f"{record_id}: effects never delivered: {sorted(owed)}")
        if notified[record_id] != 1 or published[record_id] != 1:
            problems.append(f"{record_id}: announced {notified[record_id]}x on SNS, {published[record_id]}x on the bus")
    return problems


def _incident_problems(records: list[dict[str, Any]]) -> list[str]:
    opened = {record["details"]["incident_id"] for record in records if record["kind"] == "DriftIncidentOpened"}
    ended = {
        record["details"]["incident_id"]
        for record in records
        if record["kind"] in {"DriftResponseDecided", "DriftResponseFailed"}
    }
    return [f"incident {incident} never decided nor failed" for incident in sorted(opened - ended)]


def _overlapping_trainings(cloud: LocalCloud) -> list[str]:
    sagemaker = cloud.client("sagemaker")
    problems = []
    for pipeline in ("churn-training",):  # the queue-mode model
        runs = sagemaker.list_pipeline_executions(PipelineName=pipeline)["PipelineExecutionSummaries"]
        spans = []
        for run in runs:
            described = sagemaker.describe_pipeline_execution(PipelineExecutionArn=run["PipelineExecutionArn"])
            spans.append((described["CreationTime"], described["LastModifiedTime"]))
        spans.sort()
        problems += [
            f"{pipeline}: two trainings at once" for (_, end), (start, _) in itertools.pairwise(spans) if start < end
        ]
    return problems


# -- the matrix ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Combination:
    scenario: str
    site: CallSite
    outcome: str  # "same" | "visible" | "failed"
    detail: str


def judge(baseline: Run, faulty: Run) -> tuple[str, str]:
    if faulty.problems:
        return "failed", "; ".join(faulty.problems)
    if faulty.facts == baseline.facts:
        return "same", "same outcome as without the fault"
    new_failures = [failure for failure in faulty.visible_failures if failure not in baseline.visible_failures]
    if new_failures:
        return "visible", "degraded, alarmed: " + ", ".join(new_failures)
    return "failed", "outcome differs and nothing shows it: " + _difference(baseline.facts, faulty.facts)


def _difference(expected: tuple[Any, ...], got: tuple[Any, ...]) -> str:
    missing = [fact for part, other in zip(expected, got, strict=False) for fact in part if fact not in other]
    extra = [fact for part, other in zip(got, expected, strict=False) for fact in part if fact not in other]
    return f"missing {missing}, extra {extra}"


def run_matrix(scenarios: list[str], out: TextIO, max_sites: int | None = None) -> list[Combination]:
    combinations: list[Combination] = []
    for scenario in scenarios:
        baseline, recorder = run_scenario(scenario)
        if baseline.problems:
            raise RuntimeError(f"scenario {scenario} breaks an invariant without any fault: {baseline.problems}")
        sites = recorder.sites()[:max_sites]
        print(f"== {scenario}: {len(sites)} call sites", file=out, flush=True)
        for site in sites:
            faulty, injector = run_scenario(scenario, site)
            outcome, detail = judge(baseline, faulty) if injector.fired else ("same", "not reached")
            combinations.append(Combination(scenario, site, outcome, detail))
            print(f"  {outcome:8} {site!s:62} {detail}", file=out, flush=True)
    return combinations


def summary_line(combinations: list[Combination]) -> str:
    failed = [f"{c.scenario}: {c.site}: {c.detail}" for c in combinations if c.outcome == "failed"]
    held = sum(1 for c in combinations if c.outcome != "failed")
    return json.dumps({"faults": {"combinations": len(combinations), "held": held, "failed": failed}})


def main(scenarios: list[str] | None, out: TextIO, max_sites: int | None = None) -> int:
    unknown = sorted(set(scenarios or []) - set(SCENARIOS))
    if unknown:
        print(f"error: unknown scenario(s) {unknown}; choose from {sorted(SCENARIOS)}", file=out)
        return 2
    combinations = run_matrix(scenarios or list(SCENARIOS), out, max_sites)
    print(summary_line(combinations), file=out)
    return 0 if all(c.outcome != "failed" for c in combinations) else 1
