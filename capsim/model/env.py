"""The simulation clock that counts events, and named random streams for one replication."""

from __future__ import annotations

import zlib
from collections import deque
from heapq import heappop

import numpy as np
import simpy
from simpy.core import StopSimulation
from simpy.events import NORMAL, PENDING, URGENT, EventPriority


class CountingEnvironment(simpy.Environment):
    """A SimPy environment that can say how many events it has processed (``events``).

    SimPy numbers every scheduled event in order; the events processed are those numbered so far
    minus those still waiting in the queue. Counting this way costs nothing per event.
    """

    @property
    def events_processed(self) -> int:
        """Events taken off the queue and processed so far."""
        scheduled = int(repr(self._eid).removeprefix("count(").removesuffix(")"))
        return scheduled - len(self._queue)

    def run_until(self, until: simpy.Event) -> None:
        """Process events until ``until`` has been processed, as ``run(until=until)`` does.

        The same steps as SimPy's ``step`` (take the earliest event, call its callbacks in order,
        stop on an event that failed undefused), in one loop with its names bound once: the
        loop is most of a replication's fixed cost per event.
        """
        if until.callbacks is None:
            return
        until.callbacks.append(StopSimulation.callback)
        queue = self._queue
        event: simpy.Event | None = None
        callbacks: list[object] = []
        callback: object = None
        try:
            while queue:
                self._now, _, _, event = heappop(queue)
                callbacks, event.callbacks = event.callbacks, None  # type: ignore[assignment]
                for callback in callbacks:
                    callback(event)  # type: ignore[operator]
                if not event._ok and not hasattr(event, "_defused"):
                    exc = type(event._value)(*event._value.args)
                    exc.__cause__ = event._value
                    raise exc
        except StopSimulation:
            # As SimPy does: keep the callbacks not yet called and put the event back.
            assert event is not None
            event.callbacks = callbacks[callbacks.index(callback) + 1 :]  # type: ignore[assignment]
            self.schedule(event, EventPriority(URGENT - 1))
            return
        raise RuntimeError(f'No scheduled events left but "until" event was not triggered: {until}')


class FirstOf(simpy.Event):
    """Fires when the first of two events has happened: ``first | second`` for two events.

    It schedules itself at the same moments as SimPy's ``AnyOf`` of the two (when the first of
    them is processed, or at once if one already was), fails as ``AnyOf`` fails, and detaches
    itself from the other event when processed, so waits and their order are unchanged. Its
    value is None: callers read which event happened from the events themselves.
    """

    def __init__(self, env: simpy.Environment, first: simpy.Event, second: simpy.Event) -> None:
        self.env = env
        self.callbacks = [self._detach]
        self._first = first
        self._second = second
        check = self._check
        if first.callbacks is None:
            check(first)
        else:
            first.callbacks.append(check)
        if second.callbacks is None:
            check(second)
        else:
            second.callbacks.append(check)

    def _check(self, event: simpy.Event) -> None:
        """Trigger on the first operand processed (failing if it failed)."""
        if self._value is not PENDING:
            return
        if event._ok:
            self._ok = True
            self._value = None
            self.env.schedule(self, NORMAL)
        else:
            event._defused = True
            self.fail(event._value)

    def _detach(self, _: simpy.Event) -> None:
        """Take this event's check off an operand that has not been processed yet."""
        check = self._check
        for event in (self._first, self._second):
            waiting = event.callbacks
            if waiting and check in waiting:
                waiting.remove(check)


class Slots:
    """``simpy.Resource``'s request, release and cancel, scheduling the same events in order.

    A request is granted at once if a slot is free and nobody waits ahead of it; a release
    frees its slot at once and, when its release event is processed, grants the head of the
    line (one request per release, as SimPy does). The events are plain SimPy events, so a
    process waits for a slot exactly as for a ``Resource`` request; only the bookkeeping
    SimPy does for its general resources (which here never does anything) is left out.
    """

    def __init__(self, env: simpy.Environment, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError('"capacity" must be > 0.')
        self.env = env
        self.capacity = capacity
        #: Slots granted and not yet released.
        self.in_use = 0
        self._waiting: deque[simpy.Event] = deque()

    def request(self) -> simpy.Event:
        """An event that fires when a slot is granted to the caller."""
        granted = simpy.Event(self.env)
        self._waiting.append(granted)
        self._grant_head(None)
        return granted

    def release(self, granted: simpy.Event) -> simpy.Event:
        """Give back a granted slot; the next in line gets it when the returned event fires."""
        self.in_use -= 1
        released = simpy.Event(self.env)
        released.callbacks.append(self._grant_head)
        return released.succeed()

    def cancel(self, granted: simpy.Event) -> None:
        """Leave the line without a slot (a request not granted yet)."""
        if not granted.triggered:
            self._waiting.remove(granted)

    def _grant_head(self, _: simpy.Event | None) -> None:
        """Grant the first request in line if a slot is free."""
        if self._waiting and self.in_use < self.capacity:
            self.in_use += 1
            self._waiting.popleft().succeed()


def seeded_generator(seed: int, spawn_key: tuple[int, ...]) -> np.random.Generator:
    """``default_rng(SeedSequence(seed, spawn_key=spawn_key))``, built without its slow path.

    A seed sequence hashes the 32-bit words of its seed, padded with zeros to its pool size
    when a spawn key follows, then the words of every spawn-key element. Handing it those
    words as one array gives the same pool, hence the same state and the same draws, while
    skipping NumPy's conversion of each key element on its own (most of the cost of a
    per-entity stream keyed by a name's bytes).
    """
    words = _uint32_words(seed)
    if spawn_key and len(words) < _POOL_SIZE:
        words += [0] * (_POOL_SIZE - len(words))
    for element in spawn_key:
        words += _uint32_words(element)
    return np.random.default_rng(np.random.SeedSequence(np.array(words, dtype=np.uint32)))


#: Words in a NumPy seed sequence's entropy pool (``SeedSequence().pool_size``).
_POOL_SIZE = 4


def _uint32_words(value: int) -> list[int]:
    """A non-negative integer as little-endian 32-bit words, as a seed sequence reads it."""
    if value < 0:
        raise ValueError(f"seed and key words must be >= 0, got {value}")
    if value == 0:
        return [0]
    words = []
    while value > 0:
        words.append(value & 0xFFFFFFFF)
        value >>= 32
    return words


class Streams:
    """Independent generators per model component, all derived from (seed, replication).

    Separate streams keep common random numbers common: changing how many deals a policy launches
    does not shift the draws of competing grid applicants or of equipment lead times.
    """

    def __init__(self, seed: int, replication: int) -> None:
        self.seed = seed
        self.replication = replication
        self._cache: dict[str, np.random.Generator] = {}

    def get(self, name: str) -> np.random.Generator:
        """The generator for one named component (created on first use, then reused)."""
        rng = self._cache.get(name)
        if rng is None:
            key = (self.replication, zlib.crc32(name.encode("utf-8")))
            rng = seeded_generator(self.seed, key)
            self._cache[name] = rng
        return rng

    def child(self, name: str) -> np.random.Generator:
        """A fresh generator for one named entity (a deal, a request), not kept afterwards.

        Keyed by the entity's identity, so its draws do not depend on how many other entities
        drew before it: the k-th deal gets the same durations whatever the policy launched.
        """
        key = (self.replication, 1, *name.encode("utf-8"))  # the bytes: no hash collisions
        return seeded_generator(self.seed, key)
