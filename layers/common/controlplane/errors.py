"""Typed errors. Their class names are the error names Step Functions sees and routes on."""


class ControlPlaneError(Exception):
    """Base class of every error the control plane raises on purpose."""


class ConfigError(ControlPlaneError):
    """The control-plane config file is invalid; the message names the file, the field and the fix."""


class InvalidRequest(ControlPlaneError):
    """An execution input or event cannot be acted on; the message says what to fix."""


class UnknownModel(InvalidRequest):
    """The request names a model that the config does not list."""


class TransientError(ControlPlaneError):
    """An AWS call failed in a way a later attempt may not (throttling, a server error, a lost connection), after
    botocore's own retries; every Task state retries it with backoff and jitter."""


class BatchFailed(ControlPlaneError):
    """Every message of an SQS batch failed; the invocation fails, so that Lambda's Errors metric counts it."""
