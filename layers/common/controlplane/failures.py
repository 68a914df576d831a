"""The failure a workflow hands the task that records it, explicitly, as a task parameter (`failure`).

Its shape is Step Functions' error output, `{"Error": ..., "Cause": ...}`: a `Catch` writes it with
`"ResultPath": "$.failure"`, and a step that ends in a refusal rather than an error (a failed gate, a superseded
deployment) gets the same shape from a Pass state, whose `Error` names the refusal and whose `Cause` is the reason
the step computed. A recording task reads this object only, never the rest of the workflow's state.
"""

import json

from pydantic import ConfigDict, Field

from controlplane.schema import StrictModel


class StepFailure(StrictModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True, populate_by_name=True)

    error: str = Field(alias="Error")
    """The error name: a Python exception's class name, an AWS one (States.Timeout, ...) or a refusal's."""
    cause: str | None = Field(default=None, alias="Cause")
    """Lambda writes a JSON object with `errorMessage` here; other services and Pass states, plain text."""

    @property
    def message(self) -> str:
        """The human message: a Lambda error's `errorMessage`, else the cause, else the error name."""
        try:
            parsed = json.loads(self.cause or "")
        except ValueError:
            return self.cause or self.error
        if isinstance(parsed, dict):
            return str(parsed.get("errorMessage") or parsed.get("message") or self.cause)
        return str(self.cause)
