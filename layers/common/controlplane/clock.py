"""The control plane's single source of time, replaceable by the local cloud's virtual clock."""

from collections.abc import Callable
from datetime import UTC, datetime


def _system_now() -> datetime:
    return datetime.now(UTC)


_source: Callable[[], datetime] = _system_now


def now() -> datetime:
    """Current time, always timezone-aware UTC."""
    return _source()


def use(source: Callable[[], datetime] | None) -> None:
    """Replace the time source (None restores the system clock)."""
    global _source  # noqa: PLW0603 - the one replaceable time source
    _source = source or _system_now


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds; sorts lexicographically in time order."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
