"""The base every event model builds on, the S3 URI rules the models share, and `parse_request`.

AWS's events are modelled in `controlplane.events`, one module per source; a workflow's input lives next to its
workflow (`controlplane.requests` holds those several workflows take), so a handler builds only the models it uses.
Event models are lenient where AWS is inconsistent (field casing, optional fields), strict where a wrong value would
cause a wrong action (bucket and key, statuses, model names, S3 URIs).
"""

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from controlplane.errors import InvalidRequest
from controlplane.schema import validation_problems

# Any key: S3 keys may hold any Unicode character (spaces, '+', '%', '=', line breaks included).
_S3_URI = re.compile(r"s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<key>.*)", re.DOTALL)
S3_KEY_MAX_BYTES = 1024
"""S3 object keys are at most 1024 bytes of UTF-8."""
DATASET_URI_MAX_BYTES = 1024
"""The ledger keys a dataset by its URI, and a DynamoDB sort key is at most 1024 bytes."""


def utf8_size(text: str) -> int | None:
    """The UTF-8 size of `text` in bytes, or None when it is not valid Unicode (a lone surrogate from JSON)."""
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return None


def s3_key_problem(key: str) -> str | None:
    """Why no S3 object can have this key, or None."""
    size = utf8_size(key)
    if size is None:
        return "the key is not valid Unicode text (it holds a lone UTF-16 surrogate), so no S3 object has it"
    if size > S3_KEY_MAX_BYTES:
        return f"the key is {size} bytes in UTF-8; S3 keys are at most {S3_KEY_MAX_BYTES} bytes"
    return None


def dataset_uri_problem(uri: str) -> str | None:
    """Why the control plane cannot train on this dataset URI, or None. The ingress and RetrainRequest share it."""
    if not _S3_URI.fullmatch(uri):
        return f"'{uri}' is not an S3 URI; write it as s3://<bucket>/<dataset prefix>/"
    size = utf8_size(uri)
    if size is None:
        return "the dataset URI is not valid Unicode text (it holds a lone UTF-16 surrogate)"
    if size > DATASET_URI_MAX_BYTES:
        return (
            f"the dataset URI is {size} bytes in UTF-8; the ledger keys datasets by URI and takes at most "
            f"{DATASET_URI_MAX_BYTES} bytes (DynamoDB sort key limit): use a shorter dataset prefix"
        )
    return None


def _usable_dataset_uri(uri: str) -> str:
    problem = dataset_uri_problem(uri)
    if problem is not None:
        raise ValueError(problem)
    return uri


DatasetUri = Annotated[
    str, AfterValidator(_usable_dataset_uri), Field(json_schema_extra={"pattern": "^s3://[a-z0-9.-]{3,63}/"})
]
"""s3://<bucket>/<dataset prefix>/ with any characters in the prefix, within the ledger's key size."""


class LenientModel(BaseModel):
    """A part of an AWS event: unknown fields ignored (AWS adds fields), each field by its name or its alias."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True, defer_build=True)


class EventBridgeEvent(LenientModel):
    """The EventBridge envelope; `detail` is parsed by the concrete subclasses."""

    id: Annotated[str, Field(min_length=1)]
    detail_type: str = Field(alias="detail-type")
    source: str
    account: str | None = None
    region: str | None = None
    time: datetime
    resources: list[str] = Field(default_factory=list)


def split_s3_uri(uri: str) -> tuple[str, str]:
    match = _S3_URI.fullmatch(uri)
    if not match:
        raise InvalidRequest(f"'{uri}' is not an S3 URI; write it as s3://<bucket>/<key>")
    return match["bucket"], match["key"]


def parse_request[T: BaseModel](model: type[T], payload: Any, what: str) -> T:
    """Validate `payload` or raise InvalidRequest with a message that says what to fix."""
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        raise InvalidRequest(f"Invalid {what}: " + "; ".join(validation_problems(error))) from None


PACKAGE_ARN_PATTERN = r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/[a-zA-Z0-9-]+/\d+$"
