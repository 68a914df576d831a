"""Benchmarks of the control plane: numbers to read, never assertions on timing.

`python -m benchmarks` (or `make bench`) measures, from the repository root:

- ingress throughput: N AWS-shaped S3 "Object Created" events for one dataset pushed through the template's
  real path in the local cloud (EventBridge rule pattern -> SQS queue -> DataIngressFunction -> retrain
  workflow), once for a marker dataset (churn) and once for a quiet-period dataset (fraud), each in a fresh
  process; the only correctness guard is that each dataset starts exactly one SageMaker Pipeline execution;
- cold start: the whole-process time of importing each Lambda handler module, next to `import boto3` and
  `python -c pass` in the same Python.

`python -m benchmarks --help` lists the options; `--json` prints one JSON object instead of tables.
"""
