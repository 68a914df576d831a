"""boto3 clients created on first use, from one session: a handler builds only the clients its action calls.

Creating a client costs milliseconds of CPU at a cold start (its service model is loaded and parsed); a
handler whose actions need different services (deploy_tasks: SageMaker, S3, CloudWatch, Step Functions,
DynamoDB) should not pay for all of them on every cold start.
"""

from functools import cache
from typing import Any, overload

import boto3


@cache
def session() -> boto3.Session:
    return boto3.Session()


@cache
def client(service_name: str) -> Any:
    """The process's client for the service (boto3 clients are thread-safe)."""
    return session().client(service_name)  # type: ignore[call-overload]


class LazyClient[ClientT]:
    """A client attribute: the one assigned (a test's stub), else the process's client, made on first read."""

    def __init__(self, service_name: str) -> None:
        self._service_name = service_name
        self._attribute = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._attribute = f"_injected{name}"

    @overload
    def __get__(self, instance: None, owner: type) -> "LazyClient[ClientT]": ...
    @overload
    def __get__(self, instance: object, owner: type) -> ClientT: ...
    def __get__(self, instance: object | None, owner: type) -> "ClientT | LazyClient[ClientT]":
        if instance is None:
            return self
        injected: ClientT | None = instance.__dict__.get(self._attribute)
        return injected if injected is not None else client(self._service_name)

    def __set__(self, instance: object, value: ClientT | None) -> None:
        instance.__dict__[self._attribute] = value
