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

No real time: waiting is notification-driven. The clock's condition variable is notified whenever a
thread parks or un-parks, and (through `notify_changed`, called by the moto patches) whenever an
execution starts, changes its program state or ends. `wait_until_quiescent` and interruptible sleeps
wait on it with no deadline a slow machine can reach.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["DEADLOCK_SECONDS", "DEFAULT_START", "TimerHandle", "VirtualClock", "wait_until_quiescent"]

DEFAULT_START = datetime(2026, 11, 27, 9, 0, 0, tzinfo=UTC)

# Only a genuine deadlock takes this long (real seconds): waits are notified, never polled.
DEADLOCK_SECONDS = 600.0

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
        self.woken = False
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
        self._changed = threading.Condition(self._lock)
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

    def notify_changed(self) -> None:
        """Wake every thread waiting on the clock to re-check its condition (quiescence, interrupts).

        Call it after anything those conditions read has changed: an execution started, stopped or ended.
        """
        with self._changed:
            self._changed.notify_all()

    def park(self) -> None:
        """Count the calling thread as blocked in a wait that only the simulation can end."""
        with self._changed:
            self._parked += 1
            self._changed.notify_all()

    def unpark(self) -> None:
        """Undo one `park()`; called by the waker, synchronously, before the waiter resumes."""
        with self._changed:
            if self._parked <= 0:
                raise RuntimeError("VirtualClock.unpark() without a matching park()")
            self._parked -= 1
            self._changed.notify_all()

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
        with self._changed:
            self._sleepers.add(sleeper)
            sleeper.handle = self.call_later(seconds, lambda: self._wake(sleeper))
            self._changed.notify_all()
            try:
                # A predicate interrupt is re-checked whenever the clock is notified (see notify_changed);
                # an Event interrupt is polled by nobody, so whoever sets it must notify the clock too.
                while not sleeper.woken and not sleeper.interrupted():
                    self._changed.wait()
            finally:
                # Only an interrupted (or failed) sleep gets here still parked; parked_count has
                # already stopped counting it if the interrupt condition holds.
                sleeper.parked = False
                self._sleepers.discard(sleeper)
                sleeper.handle.cancel()
                self._changed.notify_all()

    def _wake(self, sleeper: _Sleeper) -> None:
        with self._changed:
            sleeper.parked = False
            sleeper.woken = True
            self._changed.notify_all()

    def wait_until(
        self, condition: Callable[[], bool], describe: Callable[[], str], deadlock_seconds: float = DEADLOCK_SECONDS
    ) -> None:
        """Block until `condition()` holds, re-checking it each time the clock is notified.

        `condition` is evaluated under the clock's lock, so it must not wait for other threads. Raises
        TimeoutError with `describe()` only after `deadlock_seconds` real seconds without the condition
        holding: a genuine deadlock, never mere slowness.
        """
        with self._changed:
            if not self._changed.wait_for(condition, timeout=deadlock_seconds):
                raise TimeoutError(f"Local cloud deadlocked for {deadlock_seconds:g} s: {describe()}")


def wait_until_quiescent(
    clock: VirtualClock, count_running: Callable[[], int], deadlock_seconds: float = DEADLOCK_SECONDS
) -> None:
    """Wait until every running execution is parked on `clock`; notification-driven, no polling.

    Quiescent means `clock.parked_count == count_running()`: nothing can happen until a timer fires or
    the driver acts (e.g. sends a task token). The moto patches notify the clock when an execution
    starts, changes state or ends, and the clock notifies itself when a thread parks or un-parks.
    One parked thread per execution is assumed: executions whose Parallel or Map branches wait
    concurrently, or that block in waits the local cloud does not virtualise (HeartbeatSeconds,
    `.sync` polling, activities), never become quiescent and fail after `deadlock_seconds`, naming
    both counts.
    """

    def describe() -> str:
        return (
            f"{count_running()} running execution(s), {clock.parked_count} parked thread(s). An execution is "
            "stuck in a real-time wait, or parks more than one thread (Parallel/Map)."
        )

    clock.wait_until(lambda: clock.parked_count == count_running(), describe, deadlock_seconds)
