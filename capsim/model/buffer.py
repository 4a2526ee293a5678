"""Queue positions held ahead of deals: our own unattached grid requests, kept topped up.

At every review the policy keeps ``policy.queue_buffer_mw`` of our requests no deal has taken
yet in each region's queue, filing requests of ``queue_buffer_request_mw`` as needed (each pays
the queue's deposit and milestones like any of ours). A new deal in the region takes over the
oldest held request large enough, with its place in line and its progress, instead of filing
anew. A held request no deal has taken is withdrawn ``queue_buffer_release_months`` after
filing (if set; the deposit's refundable share comes back), else kept to the horizon.
"""

from __future__ import annotations

from collections.abc import Generator

import simpy

from capsim.model.grid import GridQueue, Request
from capsim.model.portfolio import World
from capsim.model.units import MW_EPS


def buffer_process(world: World) -> Generator[simpy.Event, object, None]:
    """Top the buffers up at every review, from the start month to the horizon."""
    policy = world.scenario.policy
    filed = 0
    while True:
        for region, target_mw in policy.queue_buffer_mw.items():
            grid = world.grids[region]
            held_mw = sum(r.mw for r in grid.unattached())
            while held_mw < target_mw - MW_EPS:
                filed += 1
                request = grid.file_buffer(f"buffer{filed:04d}", policy.queue_buffer_request_mw)
                held_mw += request.mw
                if policy.queue_buffer_release_months is not None:
                    world.env.process(
                        _release(world, grid, request, policy.queue_buffer_release_months)
                    )
        if world.env.now + policy.review_months >= world.horizon_months:
            return
        yield world.env.timeout(policy.review_months)


def _release(
    world: World, grid: GridQueue, request: Request, after_months: float
) -> Generator[simpy.Event, object, None]:
    """Withdraw a held request no deal has taken ``after_months`` after filing."""
    yield world.env.timeout(after_months)
    if request.attached_at is None and request.pending:
        world.recorder.log(world.env.now, "buffer_released", f"{grid.region_id}:{request.deal_id}")
        grid.withdraw(request)
