"""One Logger, Tracer and Metrics for the whole package; service name and namespace come from the
environment (POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, set in the template's Globals)."""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer(patch_modules=("boto3",))  # the only library whose calls leave the process; not X-Ray's patch_all
metrics = Metrics()
