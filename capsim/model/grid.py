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
from simpy.events import Event, Process, Timeout

from capsim.model.env import FirstOf, Slots, Streams
from capsim.model.ledger import Ledger
from capsim.model.records import BACKGROUND, OWN, HeadroomRow, QueueRow, Recorder
from capsim.model.units import settle_mw
from capsim.scenario.schema import Region

_EPS_MW = 1e-9


@dataclass(slots=True)
class Request:
    """One connection request and the months it reached each step (None if never).

    Its own durations are drawn when it is filed, so they do not depend on what happens later.
    ``stop`` fires when the request gives up: its withdrawal hazard or a milestone it will not
    pay (only while it waits, before works start), or our decision to withdraw it (any time
    before it is connected).
    """

    request_id: int
    applicant: str
    deal_id: str
    mw: float
    arrived: float
    done: simpy.Event
    stop: simpy.Event
    flexible_ready: simpy.Event
    competitor_class: str = ""
    #: What an own request was filed for: 'deal', or 'buffer' (a place held ahead of deals).
    filed_for: str = ""
    #: Month a deal took this request over (its filing month when filed for the deal).
    attached_at: float | None = None
    study_months: float = 0.0
    works_months: float = 0.0
    withdraw_after_months: float | None = None
    drop_draws: tuple[float, ...] = ()
    study_start: float | None = None
    study_end: float | None = None
    headroom_granted: float | None = None
    flexible_start: float | None = None
    flexible_connected: float | None = None
    connected: float | None = None
    withdrawn: float | None = None
    #: Connection works have started (firm or flexible): the hazard no longer applies.
    in_works: bool = False
    deposit_usd: float = 0.0
    refunded_usd: float = 0.0
    milestones_usd: float = 0.0

    @property
    def pending(self) -> bool:
        """Neither connected nor withdrawn yet."""
        return self.connected is None and self.withdrawn is None

    @property
    def power_from(self) -> float | None:
        """First month the request could carry power: flexible or firm connection."""
        times = [t for t in (self.flexible_connected, self.connected) if t is not None]
        return min(times) if times else None


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
        grant = Event(self.env)
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
        ledger: Ledger,
        accept_flexible: bool = False,
    ) -> None:
        self.env = env
        self.ledger = ledger
        self.region_id = region_id
        self.spec = region.grid
        self.streams = streams
        self.rng = streams.get(f"grid:{region_id}")
        self.cluster_rng = streams.get(f"clusters:{region_id}")
        self.horizon_months = horizon_months
        self.recorder = recorder
        self.headroom = Headroom(env, region.grid.headroom_mw, region.grid.queue.headroom_order)
        self.slots = Slots(env, region.grid.queue.study_slots)
        self.requests: list[Request] = []
        self.own_queued_mw = 0.0
        self.flexible_used_mw = 0.0
        self.accept_flexible = accept_flexible and region.grid.flexible is not None
        self._window = _Cluster(env.event())
        # One class keeps the region's competitor stream; several each get their own.
        classes = region.grid.competitor_classes()
        self.competitor_rngs = {
            name: streams.get(f"competitors:{region_id}" + (f":{name}" if name else ""))
            for name, _ in classes
        }
        self._competitor_specs = dict(classes)
        self._cluster_mode = self.spec.queue.mode == "cluster"
        #: (index, milestone) in the order they fall due after filing.
        self._milestones_in_time_order = sorted(
            enumerate(self.spec.queue.milestones), key=lambda item: item[1].after_months
        )
        if self.spec.queue.mode == "cluster":
            env.process(self._windows())
        for upgrade in self.spec.upgrades:
            env.process(self._upgrade(upgrade.name, upgrade.mw, upgrade.month.sample(self.rng)))
        for name, _ in classes:
            env.process(self._competitors(name))

    def submit(
        self, applicant: str, mw: float, deal_id: str = "", competitor_class: str = ""
    ) -> Request:
        """File a request now; its ``done`` event fires with True (connected) or False.

        A competitor's durations come from its class's stream, ours from a stream of the deal
        (or of the buffer place). Ours pay the queue's deposit on filing.
        """
        own = applicant == OWN
        rng = (
            self.streams.child(f"request:{self.region_id}:{deal_id}")
            if own
            else self.competitor_rngs[competitor_class]
        )
        env = self.env
        request = Request(
            len(self.requests),
            applicant,
            deal_id,
            mw,
            env.now,
            Event(env),
            Event(env),
            Event(env),
            competitor_class=competitor_class,
        )
        queue = self.spec.queue
        request.withdraw_after_months = self._withdrawal_delay(applicant, competitor_class, rng)
        request.study_months = queue.study_months.sample(rng)
        request.works_months = queue.works_months.sample(rng)
        if not own and queue.milestones:
            request.drop_draws = tuple(float(rng.random()) for _ in queue.milestones)
        self.requests.append(request)
        if own:
            self.own_queued_mw += mw
            request.deposit_usd = queue.deposit_usd_per_mw * mw
            self.ledger.queue_fees_usd += request.deposit_usd
        Process(self.env, self._lifecycle(request))
        return request

    def file_for_deal(self, deal_id: str, mw: float) -> Request:
        """Our request for a deal: a held buffer place large enough if there is one, else new."""
        held = self.take_over(deal_id, mw)
        if held is not None:
            return held
        request = self.submit(OWN, mw, deal_id)
        request.filed_for = "deal"
        request.attached_at = request.arrived
        return request

    def file_buffer(self, key: str, mw: float) -> Request:
        """File a request of ours to hold a place in line before any deal needs it."""
        request = self.submit(OWN, mw, key)
        request.filed_for = "buffer"
        self.recorder.log(self.env.now, "buffer_filed", f"{self.region_id}:{key}")
        return request

    def unattached(self) -> list[Request]:
        """Our live buffer requests no deal has taken yet, oldest first."""
        return [
            r
            for r in self.requests
            if r.filed_for == "buffer" and r.attached_at is None and r.withdrawn is None
        ]

    def take_over(self, deal_id: str, mw: float) -> Request | None:
        """Give the oldest live buffer request of at least ``mw`` to a deal, with its progress."""
        for request in self.unattached():
            if request.mw >= mw - _EPS_MW:
                request.deal_id = deal_id
                request.attached_at = self.env.now
                self.recorder.log(self.env.now, "taken_over", f"{request.request_id}:{deal_id}")
                if request.study_end is not None and request.headroom_granted is None:
                    self._try_flexible(request)
                return request
        return None

    def withdraw(self, request: Request) -> None:
        """Withdraw a request of ours by decision (its deal died, a held place is released)."""
        if request.pending and not request.stop.triggered:
            request.stop.succeed()

    def _upgrade(self, name: str, mw: float, month: float) -> Generator[simpy.Event, object, None]:
        row = HeadroomRow(region=self.region_id, name=name, mw=mw, in_service_month=month)
        if month >= self.horizon_months:
            self.recorder.headroom.append(row)
            return
        yield self.env.timeout(month)
        self.headroom.add(mw)
        self.recorder.headroom.append(row)
        self.recorder.log(self.env.now, "headroom", f"{self.region_id}+{mw:g}")

    def _competitors(self, name: str) -> Generator[simpy.Event, object, None]:
        spec = self._competitor_specs[name]
        rng = self.competitor_rngs[name]
        for _ in range(spec.initial_requests):
            self.submit(BACKGROUND, spec.mw.sample(rng), competitor_class=name)
        if spec.arrivals_per_year <= 0:
            return
        mean_gap_months = 12.0 / spec.arrivals_per_year
        while True:
            gap = float(rng.exponential(mean_gap_months))
            if self.env.now + gap >= self.horizon_months:
                return
            yield Timeout(self.env, gap)
            self.submit(BACKGROUND, spec.mw.sample(rng), competitor_class=name)

    def _withdrawal_delay(
        self, applicant: str, competitor_class: str, rng: np.random.Generator
    ) -> float | None:
        """Months after filing at which the request gives up (None: withdrawal is off).

        Ours and competitors with ``withdrawal_per_year`` give up at a constant hazard
        (exponential); a competitor class with a Weibull withdrawal at a hazard that grows
        (shape > 1) or falls (shape < 1) with time in queue.
        """
        if applicant == OWN:
            per_year = self.spec.queue.withdrawal_per_year
        else:
            spec = self._competitor_specs[competitor_class]
            if spec.withdrawal is not None:
                return float(spec.withdrawal.scale_months * rng.weibull(spec.withdrawal.shape))
            per_year = spec.withdrawal_per_year or 0.0
        if per_year <= 0:
            return None
        return float(rng.exponential(12.0 / per_year))

    def _give_up(self, request: Request) -> None:
        """The withdrawal hazard's moment: give up, unless works have started by then."""
        if request.pending and not request.in_works and not request.stop.triggered:
            request.stop.succeed()

    def _milestone_after(self, request: Request, filed: float, position: int) -> None:
        """Wait for the milestone at ``position`` (in time order) of a request filed at ``filed``.

        Each milestone is one timeout with a callback, like the withdrawal hazard: the payment
        or the drop happens when it is processed, then the next milestone is awaited.
        """
        if position >= len(self._milestones_in_time_order):
            return
        _, milestone = self._milestones_in_time_order[position]
        due = filed + milestone.after_months
        if due >= self.horizon_months:
            return
        env = self.env
        Timeout(env, due - env.now).callbacks.append(
            lambda _: self._milestone_due(request, filed, position)
        )

    def _milestone_due(self, request: Request, filed: float, position: int) -> None:
        """A milestone falls due: ours pay while pending; a waiting competitor may drop."""
        if not request.pending or request.stop.triggered:
            return
        index, milestone = self._milestones_in_time_order[position]
        if request.applicant == OWN:
            paid = milestone.usd_per_mw * request.mw
            request.milestones_usd += paid
            self.ledger.queue_fees_usd += paid
        elif not request.in_works and request.drop_draws[index] < milestone.drop_share:
            request.stop.succeed()
            return
        self._milestone_after(request, filed, position + 1)

    def _lifecycle(self, request: Request) -> Generator[simpy.Event, object, None]:
        env = self.env
        stop = request.stop
        delay = request.withdraw_after_months
        if delay is not None and env.now + delay < self.horizon_months:
            # The withdrawal hazard is one timeout with a callback: no process of its own.
            Timeout(env, delay).callbacks.append(lambda _: self._give_up(request))
        if self._milestones_in_time_order:
            self._milestone_after(request, env.now, 0)
        if self._cluster_mode:
            studied = yield from self._cluster_study(request)
            if not studied:
                return
        else:
            slot = self.slots.request()
            yield FirstOf(env, slot, stop)
            if not slot.triggered:
                self.slots.cancel(slot)
                self._finish(request, connected=False)
                return
            request.study_start = env.now
            study = Timeout(env, request.study_months)
            yield FirstOf(env, study, stop)
            self.slots.release(slot)
            if not study.processed:
                self._finish(request, connected=False)
                return
            request.study_end = env.now
        grant = self.headroom.request(request.mw)
        if not grant.triggered:
            self._try_flexible(request)
            yield FirstOf(env, grant, stop)
            if not grant.triggered:
                self.headroom.cancel(grant)
                self._finish(request, connected=False)
                return
        request.headroom_granted = env.now
        request.in_works = True
        if request.flexible_start is not None:
            if request.flexible_connected is None:
                yield FirstOf(env, request.flexible_ready, stop)
            self.flexible_used_mw = settle_mw(self.flexible_used_mw - request.mw)
            self._finish(request, connected=request.flexible_connected is not None)
            return
        works = Timeout(env, request.works_months)
        yield FirstOf(env, works, stop)
        self._finish(request, connected=works.processed)

    def _try_flexible(self, request: Request) -> None:
        """Take a non-firm connection for a studied request of a deal, if one is on offer."""
        flexible = self.spec.flexible
        if (
            not self.accept_flexible
            or flexible is None
            or request.applicant != OWN
            or request.attached_at is None
            or request.flexible_start is not None
            or self.flexible_used_mw + request.mw > flexible.max_mw + _EPS_MW
        ):
            return
        request.flexible_start = self.env.now
        request.in_works = True
        self.flexible_used_mw += request.mw
        self.env.process(self._flexible_works(request))

    def _flexible_works(self, request: Request) -> Generator[simpy.Event, object, None]:
        """Connection works of a flexible connection; then it carries power, curtailed."""
        works = self.env.timeout(request.works_months)
        yield FirstOf(self.env, works, request.stop)
        if not works.processed:
            if request.headroom_granted is None:  # the lifecycle releases it otherwise
                self.flexible_used_mw = settle_mw(self.flexible_used_mw - request.mw)
            return
        request.flexible_connected = self.env.now
        self.recorder.log(self.env.now, "flexible", request.deal_id)
        request.flexible_ready.succeed()

    def _cluster_study(self, request: Request) -> Generator[simpy.Event, object, bool]:
        cluster = self._window
        cluster.members.append(request)
        finished = cluster.finished
        yield FirstOf(self.env, finished, request.stop)
        if not finished.triggered:
            self._finish(request, connected=False)
            return False
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
        slot = self.slots.request()
        yield slot
        start = self.env.now
        live = [r for r in cluster.members if r.withdrawn is None]
        for member in live:
            member.study_start = start
        yield self.env.timeout(study_months)
        self.slots.release(slot)
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
            if not connected and request.refunded_usd == 0.0:
                refund = request.deposit_usd * self.spec.queue.refund_share
                assert refund >= 0.0
                request.refunded_usd = refund
                self.ledger.queue_fees_usd -= refund
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
                    competitor_class=r.competitor_class,
                    filed_for=r.filed_for,
                    attached_at=r.attached_at,
                    flexible_connected=r.flexible_connected,
                    deposit_usd=r.deposit_usd,
                    refunded_usd=r.refunded_usd,
                    milestones_usd=r.milestones_usd,
                )
            )
