"""A function's environment: each handler declares the variables its template entry sets."""

import pytest

from controlplane.env import FunctionEnvironment
from controlplane.errors import ConfigError


class ProbeEnvironment(FunctionEnvironment):
    LEDGER_TABLE: str
    DATA_BUCKET: str


def test_the_environment_is_read_from_os(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_TABLE", "ledger")
    monkeypatch.setenv("DATA_BUCKET", "data")
    monkeypatch.delenv("CONTROLPLANE_CONFIG_PATH", raising=False)
    env = ProbeEnvironment.from_os()
    assert (env.LEDGER_TABLE, env.DATA_BUCKET, env.CONTROLPLANE_CONFIG_PATH) == ("ledger", "data", None)


def test_a_missing_variable_is_named_with_its_function(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_TABLE", "ledger")
    monkeypatch.delenv("DATA_BUCKET", raising=False)
    with pytest.raises(ConfigError, match=r"^ProbeEnvironment: set environment variable\(s\) DATA_BUCKET \("):
        ProbeEnvironment.from_os()
