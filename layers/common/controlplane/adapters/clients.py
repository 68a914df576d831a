"""AWS clients created on first use, from one botocore session: a handler builds only the clients its action calls.

Creating a client costs milliseconds of CPU at a cold start (its service model is loaded and parsed); a
handler whose actions need different services (deploy_tasks: SageMaker, S3, CloudWatch, Step Functions,
DynamoDB) should not pay for all of them on every cold start.

The clients are botocore's, which are what boto3's `client()` returns; the handlers do not import boto3, whose
package adds its resource layer and s3transfer (with multiprocessing) to every cold start: about 15 ms of CPU.
"""

import os
from functools import cache
from pathlib import Path
from typing import Any, overload

import botocore.loaders
import botocore.session

SERVICE_MODELS = Path(__file__).with_name("service_models")
"""The models of every service the control plane calls, trimmed to the operations the code calls
(scripts/service_models.py): their clients cost a fraction of the full models' parse and methods."""


class ListingLoader(botocore.loaders.Loader):
    """botocore's data loader, without the scan before a first client.

    To check a service name, botocore lists every service that has a model of the type asked for: one directory
    listing and a few file checks for each of about 400 services, per type (a service model, its endpoint
    rules): about 8 ms of CPU each on a cold start, against under 2 ms for this, which lists the data
    directories' names once. A name without a model of that type then fails on the lookup of its newest version, with
    DataNotFoundError (the scan's UnknownServiceError is one), which is what botocore's callers catch.
    """

    def __init__(self, extra_search_paths: list[str] | None = None) -> None:
        super().__init__(extra_search_paths=extra_search_paths)
        self._services: list[str] | None = None

    def list_available_services(self, type_name: str) -> list[str]:
        if self._services is None:
            self._services = sorted(
                name
                for location in self.search_paths
                if os.path.isdir(location)
                for name in os.listdir(location)
                if os.path.isdir(os.path.join(location, name))
            )
        return self._services


@cache
def session() -> botocore.session.Session:
    core = botocore.session.get_session()
    data_path = core.get_config_variable("data_path")  # AWS_DATA_PATH, as botocore's own loader reads it
    extra = [os.path.expanduser(os.path.expandvars(path)) for path in data_path.split(os.pathsep)] if data_path else []
    core.register_component("data_loader", ListingLoader(extra_search_paths=[str(SERVICE_MODELS), *extra]))
    return core


@cache
def client(service_name: str) -> Any:
    """The process's client for the service (clients are thread-safe)."""
    return session().create_client(service_name)


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
