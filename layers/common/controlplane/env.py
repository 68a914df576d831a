"""The base of each function's environment, which its handler declares (functions/<name>/app.py), read once into a
validated model: a missing variable fails at the first invocation with its name, not with a KeyError deep inside a
call."""

import os
from typing import Self

from pydantic import BaseModel, ConfigDict, ValidationError

from controlplane.errors import ConfigError


class FunctionEnvironment(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    CONTROLPLANE_CONFIG_PATH: str | None = None
    """Override of the bundled config file (tests and the local cloud); unset in the deployed stack."""

    @classmethod
    def from_os(cls) -> Self:
        try:
            return cls.model_validate(dict(os.environ))
        except ValidationError as error:
            missing = ", ".join(str(problem["loc"][0]) for problem in error.errors())
            raise ConfigError(f"{cls.__name__}: set environment variable(s) {missing} (see template.yaml)") from None
