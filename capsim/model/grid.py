"""A region's grid interconnection queue: studies, headroom, connection works and withdrawals.

Every request, ours or a competitor's, takes the same path: wait for study capacity (parallel
slots in serial mode; a window then a cluster study in cluster mode), then wait for headroom (MW
the grid can supply; lumps arrive at uncertain months), then connection works. Headroom is
served in filing order (``fifo``: a request that does not fit blocks those behind it) or to
every waiting request that fits (``first_fit``). A request may withdraw (an exponential hazard)
while it waits for a study, during its study and while it waits for headroom; once its
connection works have started it no longer withdraws. With exponential arrivals and study times,
no headroom limit and no withdrawal, the study stage of serial mode is an M/M/c queue.

Random numbers: competitors' arrivals, sizes and durations come from the region's competitor
stream, drawn in a fixed order when each competitor files; each of our requests draws from a
stream keyed by its deal. What we do therefore never shifts a competitor's draws.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator
from dataclasses import dataclass, field

import numpy as np
import simpy

from capsim.model.env import Streams
from capsim.model.records import BACKGROUND, OWN, HeadroomRow, QueueRow, Recorder
from capsim.model.units import settle_mw
from capsim.scenario.schema import Region

_EPS_MW = 1e-9


@dataclass
class Request:
    """One connection request and the months it reached each step (None if never).

    Its own durations are drawn when it is filed, so they do not depend on what happens later.
    """

    request_id: int
    applicant: str
    deal_id: str
    mw: float
    arrived: float
    done: simpy.Event
    study_months: float = 0.0
    works_months: float = 0.0
    withdraw_after_months: float | None = None
    study_start: float | None = None
    study_end: float | None = None
    headroom_granted: float | None = None
    connected: float | None = None
    withdrawn: float | None = None


class Headroom:
    """MW the grid can still give to the requests waiting for it.

    ``fifo`` hands it out strictly in request order (the head of the line blocks those behind);
    ``first_fit`` walks the line in order and serves every request that fits.
    """

    def __init__(self, env: simpy.Environment, mw: float, order: str = "fifo") -> None:
        self.env = env
        self.available_mw = mw
        self.first_fit = order == "first_fit"
        self._waiting: deque[tuple[float, simpy.Event]] = deque()

    def request(self, mw: float) -> simpy.Event:
        """An event that fires when ``mw`` has been allocated to the caller."""
        grant = self.env.event()
        self._waiting.append((mw, grant))
        self._serve()
        return grant

    def cancel(self, grant: simpy.Event) -> None:
        """Leave the line (a withdrawal); whoever was behind may now be served."""
        for index, (_, event) in enumerate(self._waiting):
            if event is grant:
                del self._waiting[index]
                break
        self._serve()

    def add(self, mw: float) -> None:
        """New headroom in service (an upgrade)."""
        self.available_mw += mw
        self._serve()

    def _serve(self) -> None:
        while self._waiting and self._waiting[0][0] <= self.available_mw + _EPS_MW:
            mw, grant = self._waiting.popleft()
            self.available_mw = max(0.0, self.available_mw - mw)
            grant.succeed()
        if not self.first_fit or not self._waiting:
            return
        still: deque[tuple[float, simpy.Event]] = deque()
        for mw, grant in self._waiting:
            if mw <= self.available_mw + _EPS_MW:
                self.available_mw = max(0.0, self.available_mw - mw)
                grant.succeed()
            else:
                still.append((mw, grant))
        self._waiting = still


@dataclass
class _Cluster:
    """Requests that arrived in one window; ``finished`` fires when their joint study ends."""

    finished: simpy.Event
    members: list[Request] = field(default_factory=list)


class GridQueue:
    """The interconnection queue of one region, shared by our requests and competitors'."""

    def __init__(
        self,
        env: simpy.Environment,
        region_id: str,
        region: Region,
        streams: Streams,
        horizon_months: float,
        recorder: Recorder,
    ) -> None:
        self.env = env
        self.region_id = region_id
        self.spec = region.grid
        self.streams = streams
        self.rng = streams.get(f"grid:{region_id}")
        self.competitor_rng = streams.get(f"competitors:{region_id}")
        self.cluster_rng = streams.get(f"clusters:{region_id}")
        self.horizon_months = horizon_months
        self.recorder = recorder
        self.headroom = Headroom(env, region.grid.headroom_mw, region.grid.queue.headroom_order)
        self.slots = simpy.Resource(env, capacity=region.grid.queue.study_slots)
        self.requests: list[Request] = []
        self.own_queued_mw = 0.0
        self._window = _Cluster(env.event())
        if self.spec.queue.mode == "cluster":
            env.process(self._windows())
        for upgrade in self.spec.upgrades:
            env.process(self._upgrade(upgrade.name, upgrade.mw, upgrade.month.sample(self.rng)))
        env.process(self._competitors())

    def submit(self, applicant: str, mw: float, deal_id: str = "") -> Request:
        """File a request now; its ``done`` event fires with True (connected) or False.

        A competitor's durations come from the competitor stream, ours from a stream of the deal.
        """
        rng = (
            self.competitor_rng
            if applicant != OWN
            else self.streams.child(f"request:{self.region_id}:{deal_id}")
        )
        request = Request(
            len(self.requests), applicant, deal_id, mw, self.env.now, self.env.event()
        )
        request.withdraw_after_months = self._withdrawal_delay(applicant, rng)
        request.study_months = self.spec.queue.study_months.sample(rng)
        request.works_months = self.spec.queue.works_months.sample(rng)
        self.requests.append(request)
        if applicant == OWN:
            self.own_queued_mw += mw
        self.env.process(self._lifecycle(request))
        return request

    def _upgrade(self, name: str, mw: float, month: float) -> Generator[simpy.Event, object, None]:
        row = HeadroomRow(region=self.region_id, name=name, mw=mw, in_service_month=month)
        if month >= self.horizon_months:
            self.recorder.headroom.append(row)
            return
        yield self.env.timeout(month)
        self.headroom.add(mw)
        self.recorder.headroom.append(row)
        self.recorder.log(self.env.now, "headroom", f"{self.region_id}+{mw:g}")

    def _competitors(self) -> Generator[simpy.Event, object, None]:
        spec = self.spec.competitors
        rng = self.competitor_rng
        for _ in range(spec.initial_requests):
            self.submit(BACKGROUND, spec.mw.sample(rng))
        if spec.arrivals_per_year <= 0:
            return
        mean_gap_months = 12.0 / spec.arrivals_per_year
        while True:
            gap = float(rng.exponential(mean_gap_months))
            if self.env.now + gap >= self.horizon_months:
                return
            yield self.env.timeout(gap)
            self.submit(BACKGROUND, spec.mw.sample(rng))

    def _withdrawal_delay(self, applicant: str, rng: np.random.Generator) -> float | None:
        """Months after filing at which the request gives up (None: withdrawal is off)."""
        per_year = (
            self.spec.queue.withdrawal_per_year
            if applicant == OWN
            else self.spec.competitors.withdrawal_per_year
        )
        if per_year <= 0:
            return None
        return float(rng.exponential(12.0 / per_year))

    def _withdrawal_deadline(self, request: Request) -> simpy.Event | None:
        """A timeout at which the request gives up, or None if that falls beyond the horizon."""
        delay = request.withdraw_after_months
        if delay is None or self.env.now + delay >= self.horizon_months:
            return None
        return self.env.timeout(delay)

    def _lifecycle(self, request: Request) -> Generator[simpy.Event, object, None]:
        deadline = self._withdrawal_deadline(request)
        studied = yield from self._study(request, deadline)
        if not studied:
            return
        grant = self.headroom.request(request.mw)
        if not grant.triggered and deadline is not None:
            yield grant | deadline
            if not grant.triggered:
                self.headroom.cancel(grant)
                self._finish(request, connected=False)
                return
        else:
            yield grant
        request.headroom_granted = self.env.now
        yield self.env.timeout(request.works_months)
        self._finish(request, connected=True)

    def _study(
        self, request: Request, deadline: simpy.Event | None
    ) -> Generator[simpy.Event, object, bool]:
        """Wait for and go through a study; False if the request withdrew meanwhile."""
        if self.spec.queue.mode == "cluster":
            return (yield from self._cluster_study(request, deadline))
        slot = self.slots.request()
        if deadline is not None:
            yield slot | deadline
            if not slot.triggered:
                slot.cancel()
                self._finish(request, connected=False)
                return False
        else:
            yield slot
        request.study_start = self.env.now
        study = self.env.timeout(request.study_months)
        if deadline is not None:
            yield study | deadline
        else:
            yield study
        self.slots.release(slot)
        if not study.processed:
            self._finish(request, connected=False)
            return False
        request.study_end = self.env.now
        return True

    def _cluster_study(
        self, request: Request, deadline: simpy.Event | None
    ) -> Generator[simpy.Event, object, bool]:
        cluster = self._window
        cluster.members.append(request)
        finished = cluster.finished
        if deadline is not None:
            yield finished | deadline
            if not finished.triggered:
                self._finish(request, connected=False)
                return False
        else:
            yield finished
        return True

    def _windows(self) -> Generator[simpy.Event, object, None]:
        """Close a cluster window every ``cluster_window_months`` and study its requests."""
        window_months = self.spec.queue.cluster_window_months
        while self.env.now + window_months < self.horizon_months:
            yield self.env.timeout(window_months)
            # Every window draws its study length, studied or not, so draws never shift.
            study_months = self.spec.queue.study_months.sample(self.cluster_rng)
            cluster, self._window = self._window, _Cluster(self.env.event())
            if any(member.withdrawn is None for member in cluster.members):
                self.env.process(self._run_cluster(cluster, study_months))

    def _run_cluster(
        self, cluster: _Cluster, study_months: float
    ) -> Generator[simpy.Event, object, None]:
        with self.slots.request() as slot:
            yield slot
            start = self.env.now
            live = [r for r in cluster.members if r.withdrawn is None]
            for member in live:
                member.study_start = start
            yield self.env.timeout(study_months)
        for member in cluster.members:
            if member.withdrawn is None:
                member.study_end = self.env.now
        self.recorder.log(self.env.now, "cluster_studied", f"{self.region_id}:{len(live)}")
        cluster.finished.succeed()

    def _finish(self, request: Request, connected: bool) -> None:
        if connected:
            request.connected = self.env.now
        else:
            request.withdrawn = self.env.now
        if request.applicant == OWN:
            self.own_queued_mw = settle_mw(self.own_queued_mw - request.mw)
            self.recorder.log(
                self.env.now, "connected" if connected else "withdrawn", request.deal_id
            )
        request.done.succeed(connected)

    def flush(self) -> None:
        """Append every request of this queue to the recorder (at the end of a replication)."""
        for r in self.requests:
            self.recorder.queue.append(
                QueueRow(
                    request_id=r.request_id,
                    region=self.region_id,
                    applicant=r.applicant,
                    deal_id=r.deal_id,
                    mw=r.mw,
                    arrived=r.arrived,
                    study_start=r.study_start,
                    study_end=r.study_end,
                    headroom_granted=r.headroom_granted,
                    connected=r.connected,
                    withdrawn=r.withdrawn,
                )
            )
