"""A part of the fault matrix (python -m localcloud faults runs all of it): one AWS failure at a call site where a
promise used to break, and the invariants after the local cloud settles."""

from functools import cache

import pytest

from localcloud.faults import CallSite, Run, judge, run_scenario

CASES = [
    # A retried record_deployed after its write: the next deployment is still announced.
    ("deploy-create-update", CallSite("DeployTasksFunction", "dynamodb", "DeleteItem")),
    # SNS throttles the outbox: the announcement comes later, once.
    ("deploy-create-update", CallSite("OutboxFunction", "sns", "Publish")),
    # The outbox's mark after a send fails: tried again, never sent twice.
    ("retrain-queue", CallSite("OutboxFunction", "dynamodb", "UpdateItem")),
    # Resuming the waiting workflow fails after the run's end is recorded: the retried event resumes it.
    ("retrain-queue", CallSite("PipelineEventsFunction", "stepfunctions", "SendTaskSuccess")),
    ("deploy-create-update", CallSite("EndpointEventsFunction", "stepfunctions", "SendTaskSuccess")),
    # A throttled smoke test is retried, not taken for a broken model.
    ("deploy-rollback", CallSite("DeployTasksFunction", "sagemaker-runtime", "InvokeEndpoint")),
    # The ingress's record fails after a marker's start: the retry still records the request.
    ("retrain-queue", CallSite("DataIngressFunction", "dynamodb", "PutItem")),
    # A quiet-period dataset's start transaction fails: nothing is written; the retried batch starts it.
    ("retrain-skip", CallSite("DataIngressFunction", "dynamodb", "TransactWriteItems")),
    # Lambda refuses a task invocation: Step Functions retries it.
    ("retrain-queue", CallSite("StepFunctions", "lambda", "Invoke")),
    # The drift decision's start is throttled: the outbox starts the retraining later.
    ("drift-retrain", CallSite("OutboxFunction", "stepfunctions", "StartExecution")),
    # The signal handler times out after its work: Lambda's retry changes nothing.
    ("drift-human", CallSite("DriftSignalsFunction", "lambda", "Timeout")),
    # The ledger throttles the drift workflow's decision.
    ("drift-rollback", CallSite("DriftTasksFunction", "dynamodb", "GetItem")),
]


@cache
def baseline(scenario: str) -> Run:
    run, _ = run_scenario(scenario)
    assert run.problems == (), run.problems
    return run


@pytest.mark.parametrize(("scenario", "site"), CASES, ids=[f"{scenario}:{site}" for scenario, site in CASES])
def test_a_fault_at_a_call_site_keeps_every_promise(scenario: str, site: CallSite) -> None:
    faulty, injector = run_scenario(scenario, site)

    assert injector.fired, f"{site} is not a call site of {scenario}: {injector.sites()}"
    outcome, detail = judge(baseline(scenario), faulty)
    assert outcome == "same", detail
