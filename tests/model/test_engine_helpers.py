"""The engine's fast helpers do exactly what the plain SimPy and NumPy calls they replace do.

``FirstOf`` stands for ``a | b``, ``Slots`` for ``simpy.Resource``, ``run_until`` for
``run(until=...)`` and ``seeded_generator`` for ``default_rng(SeedSequence(...))``. Each is
compared with the plain call on random small worlds: the same trace of who resumed when and
in what order (integer times, so that many events tie), the same number of events processed,
and the same generator state.
"""

from __future__ import annotations

from collections.abc import Callable, Generator

import numpy as np
import simpy
from hypothesis import given
from hypothesis import strategies as st

from capsim.model.env import CountingEnvironment, FirstOf, Slots, seeded_generator

Trace = list[tuple[float, int, str]]
Either = Callable[[simpy.Environment, simpy.Event, simpy.Event], simpy.Event]

#: Small integer delays, so that many events fall due at the same time.
_delays = st.integers(min_value=0, max_value=4)
_waits = st.lists(
    st.tuples(_delays, st.integers(min_value=0, max_value=2), _delays), min_size=1, max_size=12
)


def _any_of(env: simpy.Environment, first: simpy.Event, second: simpy.Event) -> simpy.Event:
    """SimPy's own ``first | second``."""
    return first | second


def _first_of(env: simpy.Environment, first: simpy.Event, second: simpy.Event) -> simpy.Event:
    """capsim's ``FirstOf``."""
    return FirstOf(env, first, second)


def _gates_world(
    waits: list[tuple[int, int, int]], gate_times: list[int], either: Either
) -> tuple[Trace, int]:
    """Waiters each wait for their timeout or a shared gate, twice; returns trace and events."""
    env = CountingEnvironment()
    gates = [env.event() for _ in gate_times]
    trace: Trace = []

    def opener(index: int, at: int) -> Generator[simpy.Event, object, None]:
        yield env.timeout(at)
        gates[index].succeed()
        trace.append((env.now, -1 - index, "gate"))

    def waiter(
        ident: int, start: int, gate: int, delay: int
    ) -> Generator[simpy.Event, object, None]:
        yield env.timeout(start)
        for _ in range(2):  # the second wait may find the gate already processed
            timeout = env.timeout(delay)
            yield either(env, timeout, gates[gate])
            fired = "timeout" if timeout.processed else "gate"
            trace.append((env.now, ident, fired))

    for index, at in enumerate(gate_times):
        env.process(opener(index, at))
    for ident, (start, gate, delay) in enumerate(waits):
        env.process(waiter(ident, start, gate % len(gate_times), delay))
    env.run()
    return trace, env.events_processed


@given(_waits, st.lists(_delays, min_size=1, max_size=3))
def test_first_of_resumes_who_any_of_resumes_in_the_same_order(
    waits: list[tuple[int, int, int]], gate_times: list[int]
) -> None:
    assert _gates_world(waits, gate_times, _first_of) == _gates_world(waits, gate_times, _any_of)


def test_first_of_fires_at_once_on_an_event_already_processed() -> None:
    env = simpy.Environment()
    done = env.event().succeed()
    env.run()
    either = FirstOf(env, env.timeout(5), done)
    env.run(until=either)
    assert env.now == 0
    assert either.ok


_users = st.lists(
    st.tuples(_delays, _delays, st.integers(min_value=0, max_value=5)), min_size=1, max_size=15
)


def _slots_world(
    users: list[tuple[int, int, int]], capacity: int, use_slots: bool
) -> tuple[Trace, int]:
    """Users arrive, wait for a slot with some patience, hold it and release it, twice."""
    env = CountingEnvironment()
    slots = Slots(env, capacity)
    resource = simpy.Resource(env, capacity=capacity)
    trace: Trace = []

    def user(
        ident: int, arrive: int, hold: int, patience: int
    ) -> Generator[simpy.Event, object, None]:
        yield env.timeout(arrive)
        for _ in range(2):  # the second request comes at the moment of the first release
            slot = slots.request() if use_slots else resource.request()
            yield slot | env.timeout(patience)
            if not slot.triggered:
                if use_slots:
                    slots.cancel(slot)
                else:
                    assert isinstance(slot, simpy.resources.resource.Request)
                    slot.cancel()
                trace.append((env.now, ident, "gave up"))
                return
            trace.append((env.now, ident, "got"))
            yield env.timeout(hold)
            if use_slots:
                slots.release(slot)
            else:
                assert isinstance(slot, simpy.resources.resource.Request)
                resource.release(slot)
            trace.append((env.now, ident, "released"))

    for ident, (arrive, hold, patience) in enumerate(users):
        env.process(user(ident, arrive, hold, patience))
    env.run()
    return trace, env.events_processed


@given(_users, st.integers(min_value=1, max_value=3))
def test_slots_grant_and_release_as_a_simpy_resource_does(
    users: list[tuple[int, int, int]], capacity: int
) -> None:
    assert _slots_world(users, capacity, use_slots=True) == _slots_world(
        users, capacity, use_slots=False
    )


@given(_waits, st.lists(_delays, min_size=1, max_size=3), st.integers(0, 6))
def test_run_until_stops_where_run_until_stops(
    waits: list[tuple[int, int, int]], gate_times: list[int], horizon: int
) -> None:
    def world(fast: bool) -> tuple[Trace, int, float]:
        env = CountingEnvironment()
        trace: Trace = []

        def ticker(ident: int, gap: int) -> Generator[simpy.Event, object, None]:
            while True:
                yield env.timeout(gap + 1)
                trace.append((env.now, ident, "tick"))

        def clock() -> Generator[simpy.Event, object, None]:
            yield env.timeout(horizon)

        for ident, (start, _, gap) in enumerate(waits):
            env.process(ticker(ident, gap + start))
        until = env.process(clock())
        if fast:
            env.run_until(until)
        else:
            env.run(until=until)
        return trace, env.events_processed, env.now

    assert world(fast=True) == world(fast=False)


@given(
    st.integers(min_value=0, max_value=2**63 - 1),
    st.lists(st.integers(min_value=0, max_value=2**70), max_size=6),
)
def test_seeded_generator_is_numpys_generator_for_the_same_seed_and_key(
    seed: int, key: list[int]
) -> None:
    plain = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=tuple(key)))
    fast = seeded_generator(seed, tuple(key))
    assert fast.bit_generator.state == plain.bit_generator.state
    assert (
        fast.bit_generator.seed_seq.generate_state(4)
        == plain.bit_generator.seed_seq.generate_state(4)
    ).all()
    assert fast.random(3).tolist() == plain.random(3).tolist()
