"""Virtual clock and timer scheduler: the local cloud's discrete-event simulation time.

Step Functions executions run on moto's worker threads. When one of them waits (a Wait state, a Retry
interval, a task-token callback) it *parks* on this clock instead of blocking in real time. The driver
(a test or the demo) waits until every running execution is parked (`wait_until_quiescent`), then
fires the earliest timer (`VirtualClock.fire_next`), which moves virtual time forward and wakes the
sleepers due at that instant. A simulated hour therefore takes milliseconds.

Invariant: `parked_count` is never stale-high. Whoever wakes a sleeper (a timer fired by
`fire_next`, a callback notifier) un-parks it synchronously, before the sleeper thread runs again;
a sleeper interrupted by its `interrupt` condition stops counting as parked as soon as the
condition holds.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["DEFAULT_START", "TimerHandle", "VirtualClock", "wait_until_quiescent"]

DEFAULT_START = datetime(2026, 11, 27, 9, 0, 0, tzinfo=UTC)

# How often an interruptible sleeper re-checks its interrupt condition (real seconds).
_INTERRUPT_POLL_SECONDS = 0.01

_log = logging.getLogger("localcloud")

Interrupt = threading.Event | Callable[[], bool]


class TimerHandle:
    """A scheduled callback; `cancel()` removes it from the clock if it has not fired yet."""

    __slots__ = ("_cancelled", "_clock", "_fired", "callback", "when")

    def __init__(self, clock: VirtualClock, when: datetime, callback: Callable[[], object]) -> None:
        self._clock = clock
        self.when = when
        self.callback = callback
        self._cancelled = False
        self._fired = False

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        self._clock._cancel(self)


class _Sleeper:
    """A thread blocked in `VirtualClock.sleep`."""

    __slots__ = ("handle", "interrupted", "parked", "woken")

    def __init__(self, interrupted: Callable[[], bool]) -> None:
        self.parked = True
        self.interrupted = interrupted
        self.woken = threading.Event()
        self.handle: TimerHandle | None = None


def _never() -> bool:
    return False


def _as_predicate(interrupt: Interrupt | None) -> Callable[[], bool]:
    if interrupt is None:
        return _never
    if isinstance(interrupt, threading.Event):
        return interrupt.is_set
    return interrupt


def _require_aware(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError(f"VirtualClock needs timezone-aware datetimes, got naive {when.isoformat()}")
    return when.astimezone(UTC)


class VirtualClock:
    """Simulated UTC time plus a deadline-ordered timer queue; thread-safe (one re-entrant lock)."""

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        self._lock = threading.RLock()
        self._now = _require_aware(start)
        self._heap: list[tuple[datetime, int, TimerHandle]] = []
        self._sequence = itertools.count()  # FIFO among timers with the same deadline
        self._live_timers = 0
        self._parked = 0  # park()/unpark() waits
        self._sleepers: set[_Sleeper] = set()

    # -- time -------------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The current virtual time (timezone-aware UTC)."""
        with self._lock:
            return self._now

    # -- timers -----------------------------------------------------------------------------------

    def call_at(self, when: datetime, callback: Callable[[], object]) -> TimerHandle:
        """Run `callback` from `fire_next` once virtual time reaches `when` (FIFO among equal deadlines).

        A deadline in the past fires at the next `fire_next` without moving time backwards.
        """
        handle = TimerHandle(self, _require_aware(when), callback)
        with self._lock:
            heapq.heappush(self._heap, (handle.when, next(self._sequence), handle))
            self._live_timers += 1
        return handle

    def call_later(self, seconds: float, callback: Callable[[], object]) -> TimerHandle:
        """Run `callback` from `fire_next` `seconds` of virtual time from now."""
        with self._lock:
            return self.call_at(self._now + timedelta(seconds=seconds), callback)

    def _cancel(self, handle: TimerHandle) -> None:
        with self._lock:
            if not handle._cancelled and not handle._fired:
                handle._cancelled = True
                self._live_timers -= 1

    @property
    def pending_timers(self) -> int:
        """Timers scheduled and neither fired nor cancelled."""
        with self._lock:
            return self._live_timers

    def next_deadline(self) -> datetime | None:
        """The earliest pending deadline, or None when no timer is pending."""
        with self._lock:
            self._drop_cancelled_head()
            return self._heap[0][0] if self._heap else None

    def _drop_cancelled_head(self) -> None:
        while self._heap and self._heap[0][2]._cancelled:
            heapq.heappop(self._heap)

    def _pop_due(self) -> TimerHandle | None:
        with self._lock:
            self._drop_cancelled_head()
            if not self._heap or self._heap[0][0] > self._now:
                return None
            handle = heapq.heappop(self._heap)[2]
            handle._fired = True
            self._live_timers -= 1
            return handle

    def fire_next(self) -> bool:
        """Advance to the earliest deadline and run every callback due at that instant, on this thread.

        Time never goes backwards. Callbacks run in deadline order, FIFO on ties, outside the lock
        (they may schedule timers; those due at the same instant run in this call too). If callbacks
        raise, all due callbacks still run, each error is logged, and the first is re-raised.
        Returns False when no timer is pending.
        """
        with self._lock:
            self._drop_cancelled_head()
            if not self._heap:
                return False
            self._now = max(self._now, self._heap[0][0])
        errors: list[Exception] = []
        while (handle := self._pop_due()) is not None:
            try:
                handle.callback()
            except Exception as error:
                _log.exception("Timer callback %r failed at virtual time %s", handle.callback, handle.when)
                errors.append(error)
        if errors:
            raise errors[0]
        return True

    # -- parking ----------------------------------------------------------------------------------

    def park(self) -> None:
        """Count the calling thread as blocked in a wait that only the simulation can end."""
        with self._lock:
            self._parked += 1

    def unpark(self) -> None:
        """Undo one `park()`; called by the waker, synchronously, before the waiter resumes."""
        with self._lock:
            if self._parked <= 0:
                raise RuntimeError("VirtualClock.unpark() without a matching park()")
            self._parked -= 1

    @property
    def parked_count(self) -> int:
        """Threads parked by `park()` plus sleepers neither woken nor interrupted."""
        with self._lock:
            sleeping = sum(1 for sleeper in self._sleepers if sleeper.parked and not sleeper.interrupted())
            return self._parked + sleeping

    def sleep(self, seconds: float, interrupt: Interrupt | None = None) -> None:
        """Block the calling worker thread for `seconds` of virtual time, parked meanwhile.

        `interrupt` ends the sleep early (e.g. the execution was stopped): an Event counts when it is
        set (level-triggered), a callable when it returns True. moto pulses its
        `program_state_event` (set then clear), so pass a predicate such as
        `lambda: not env.is_running()` for it. Non-positive durations return at once.
        """
        if seconds <= 0:
            return
        sleeper = _Sleeper(_as_predicate(interrupt))
        with self._lock:
            self._sleepers.add(sleeper)
            sleeper.handle = self.call_later(seconds, lambda: self._wake(sleeper))
        try:
            if interrupt is None:
                sleeper.woken.wait()
            else:
                while not sleeper.woken.wait(_INTERRUPT_POLL_SECONDS):
                    if sleeper.interrupted():
                        break
        finally:
            with self._lock:
                # Only an interrupted (or failed) sleep gets here still parked; parked_count has
                # already stopped counting it if the interrupt condition holds.
                sleeper.parked = False
                self._sleepers.discard(sleeper)
                sleeper.handle.cancel()

    def _wake(self, sleeper: _Sleeper) -> None:
        with self._lock:
            sleeper.parked = False
        sleeper.woken.set()


def wait_until_quiescent(
    clock: VirtualClock,
    count_running: Callable[[], int],
    timeout: float = 10.0,
    poll_seconds: float = 0.005,
) -> None:
    """Wait (real time, bounded) until every running execution is parked on `clock`.

    Quiescent means `clock.parked_count == count_running()`: nothing can happen until a timer fires or
    the driver acts (e.g. sends a task token). Raises TimeoutError after `timeout` real seconds,
    naming both counts. One parked thread per execution is assumed: executions whose Parallel or Map
    branches wait concurrently, or that block in waits the local cloud does not virtualise
    (HeartbeatSeconds, `.sync` polling, activities), never become quiescent and fail here loudly.
    """
    deadline = time.monotonic() + timeout
    while True:
        parked = clock.parked_count
        running = count_running()
        if parked == running:
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"Local cloud not quiescent after {timeout:g} s: {running} running execution(s), "
                f"{parked} parked thread(s). An execution is busy, stuck in a real-time wait, or "
                "parks more than one thread (Parallel/Map)."
            )
        time.sleep(poll_seconds)
