"""One Logger and Metrics for the whole package; service name and namespace come from the environment
(POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, set in the template's Globals).

No X-Ray SDK (Powertools' Tracer): it is in maintenance mode since 2026-02-25 and ends on 2027-02-25, and it was
about a third of a handler's import. `Tracing: Active` still traces every function (Lambda records its segments),
and botocore passes the trace header (`_X_AMZN_TRACE_ID`) on every AWS call, so the trace goes on through the
services; what is not recorded is a subsegment per AWS call (README, Performance).
"""

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()
