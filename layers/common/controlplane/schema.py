"""The base of the control plane's own models, and the one way a validation error is told to a person.

Every config section, workflow input and task result is a `StrictModel`: an unknown field is an error (a typo
must not pass silently) and a validated value never changes. Models of AWS's events are lenient instead
(`controlplane.events`), as AWS adds fields and varies their casing.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


_FIXES = {
    "extra_forbidden": "remove it or correct its spelling",
    "missing": "add it",
    "literal_error": "use one of the allowed values",
    "string_pattern_mismatch": "write it as the pattern requires",
    "greater_than_equal": "raise the value",
    "less_than_equal": "lower the value",
    "too_short": "add at least one entry",
}


def _where(location: tuple[int | str, ...]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location).lstrip(".") or "(input)"


def _message(problem: Any) -> str:
    if problem["type"] == "extra_forbidden":
        return "unknown field"
    message = str(problem["msg"]).removeprefix("Value error, ")
    if problem["type"] in {"literal_error", "string_pattern_mismatch"}:
        message = f"{message} (got {problem['input']!r})"
    return message


def validation_problems(error: ValidationError) -> list[str]:
    """One line per problem: the field (`models[0].data_trigger.mode`), what is wrong and, when known, the fix."""
    problems = error.errors()
    # When every item of a min_length list fails, pydantic also reports the list as too short; that line would
    # wrongly ask to add entries, so keep only the item problems it is a consequence of.
    inner = [problem["loc"] for problem in problems if problem["type"] != "too_short"]
    problems = [
        problem
        for problem in problems
        if not (
            problem["type"] == "too_short"
            and any(len(loc) > len(problem["loc"]) and loc[: len(problem["loc"])] == problem["loc"] for loc in inner)
        )
    ]
    lines = []
    for problem in problems:
        fix = _FIXES.get(problem["type"])
        lines.append(f"{_where(problem['loc'])}: {_message(problem)}" + (f"; fix: {fix}" if fix else ""))
    return lines
