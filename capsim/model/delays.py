"""What held each deal back: its months from launch to first power, split by cause.

A deal reaches first power along two paths after signing: its site (space or build, phases,
equipment) and its grid request (study wait, study, headroom wait, connection works). First
power comes when the later of the two is done, so that one is the critical path, in the sense of
the critical-path method: its steps are the delay, and the other path had slack. Each step is a
(cause, month it ended) pair, so the durations add up, by construction, to the months from
launch to first power.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from capsim.model.grid import Request

#: Waiting for a free deal-team member before a team stage.
TEAM_WAIT = "deal_team_wait"
COLOCATION_WAIT = "colocation_wait"
FIT_OUT = "fit_out"
PERMITTING = "permitting"
CREW_WAIT = "crew_wait"
CONSTRUCTION = "construction"
#: Months between a site's phases, up to the phase that was energised first.
PHASE_GAP = "phase_gap"
STUDY_WAIT = "study_wait"
STUDY = "study"
HEADROOM_WAIT = "headroom_wait"
CONNECTION_WORKS = "connection_works"

SITE_CAUSES = (COLOCATION_WAIT, FIT_OUT, PERMITTING, CREW_WAIT, CONSTRUCTION, PHASE_GAP)
GRID_CAUSES = (STUDY_WAIT, STUDY, HEADROOM_WAIT, CONNECTION_WORKS)

#: One step of a path: its cause and the month it ended.
Step = tuple[str, float]


def stage_cause(stage: str) -> str:
    """Cause name of a deal stage's own duration, e.g. ``stage_due_diligence``."""
    return f"stage_{stage}"


def equipment_cause(pool: str) -> str:
    """Cause name of waiting for a pool's units, e.g. ``equipment_transformers``."""
    return f"equipment_{pool}"


def causes(stages: Sequence[str], pools: Sequence[str]) -> list[str]:
    """Every cause a scenario's deals can be delayed by, in path order."""
    return [
        TEAM_WAIT,
        *(stage_cause(s) for s in stages),
        *SITE_CAUSES,
        *(equipment_cause(p) for p in pools),
        *GRID_CAUSES,
    ]


def grid_steps(request: Request) -> list[Step]:
    """The grid path of a request that carries power, from its filing to power.

    Firm: study wait, study, headroom wait, connection works. Flexible (non-firm power came
    first): study wait, study, the wait until the flexible offer was taken, its works.
    """
    assert request.study_start is not None and request.study_end is not None
    flexible_first = request.flexible_connected is not None and (
        request.connected is None or request.flexible_connected < request.connected
    )
    if flexible_first:
        assert request.flexible_start is not None and request.flexible_connected is not None
        return [
            (STUDY_WAIT, request.study_start),
            (STUDY, request.study_end),
            (HEADROOM_WAIT, request.flexible_start),
            (CONNECTION_WORKS, request.flexible_connected),
        ]
    assert request.headroom_granted is not None and request.connected is not None
    return [
        (STUDY_WAIT, request.study_start),
        (STUDY, request.study_end),
        (HEADROOM_WAIT, request.headroom_granted),
        (CONNECTION_WORKS, request.connected),
    ]


def steps_after(steps: Iterable[Step], month: float) -> list[Step]:
    """The steps from ``month`` on; those that ended before it are dropped.

    A request taken over from the queue buffer brings progress made before the deal existed.
    """
    return [(cause, end) for cause, end in steps if end >= month]


def steps_until(steps: Iterable[Step], month: float) -> list[Step]:
    """The steps up to ``month``; the step running then is cut there."""
    out: list[Step] = []
    for cause, end in steps:
        if end >= month:
            out.append((cause, month))
            break
        out.append((cause, end))
    return out


def critical_path(
    launched: float,
    pre_signing: Sequence[Step],
    site_steps: Sequence[Step],
    request: Request | None,
) -> list[Step]:
    """The steps from launch to first power: through the grid if it came last, else the site.

    ``site_steps`` run from signing to the first-energised phase being ready. A tie goes to the
    site (the grid was in when the phase was ready). The grid path starts when the deal filed
    its request or took over a held one; progress made before then is not the deal's wait.
    """
    ready = site_steps[-1][1] if site_steps else (pre_signing[-1][1] if pre_signing else launched)
    power = request.power_from if request is not None else None
    if request is not None and power is not None and power > ready:
        taken = request.attached_at if request.attached_at is not None else request.arrived
        start = max(launched, taken)
        before = steps_until(pre_signing, start) if pre_signing else []
        return [*before, *steps_after(grid_steps(request), start)]
    return [*pre_signing, *site_steps]


def delay_months(launched: float, path: Sequence[Step]) -> dict[str, float]:
    """Months spent in each cause along ``path`` (causes that repeat are added up)."""
    out: dict[str, float] = {}
    previous = launched
    for cause, end in path:
        out[cause] = out.get(cause, 0.0) + (end - previous)
        previous = end
    return out
