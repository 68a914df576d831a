"""Fixtures of the end-to-end tests: the real template deployed in a local cloud, seeded from a config.

The local cloud patches moto process-wide, so one cloud runs at a time; each test gets a fresh one.
"""

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from controlplane.config import load_config
from localcloud.cloud import LocalCloud
from tests.e2e.support import write_config


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    """The template with the bundled controlplane.yaml (churn: marker + queue, fraud: quiet period + skip)."""
    with LocalCloud() as local:
        local.seed(load_config())
        yield local


@pytest.fixture
def cloud_with_models(tmp_path: Path) -> Iterator[Callable[[list[dict[str, Any]]], LocalCloud]]:
    """Start a local cloud whose functions read a config with these models (written into tmp_path)."""
    with contextlib.ExitStack() as stack:

        def start(models: list[dict[str, Any]]) -> LocalCloud:
            path = write_config(tmp_path, models)
            config = load_config(path)
            local = stack.enter_context(LocalCloud(config_path=path))
            local.seed(config)
            return local

        yield start
