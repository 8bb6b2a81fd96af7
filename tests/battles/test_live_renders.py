"""A socket's live renders: coalesced, and spaced out when renders are slow, so that a
saturated web process is not asked for more renders than it can make."""

from __future__ import annotations

import asyncio

import pytest

from arena.battles.consumers import _Renders


@pytest.mark.asyncio
async def test_slow_renders_are_spaced_by_their_own_duration(settings: object) -> None:
    settings.LIVE_RENDER_SECONDS = 0.25  # type: ignore[attr-defined]
    started: list[float] = []
    loop = asyncio.get_running_loop()

    async def slow_render() -> None:  # a render that waited 1 s for a thread
        started.append(loop.time())
        await asyncio.sleep(1.0)

    renders = _Renders(slow_render)
    t0 = loop.time()
    while loop.time() - t0 < 3.5:  # a change every 50 ms, as while answers stream
        renders.request()
        await asyncio.sleep(0.05)
    renders.stop()
    # Render, then wait as long as it took: renders start at 0 s and 2 s. Spaced by
    # LIVE_RENDER_SECONDS alone they would start at 0, 1.25 and 2.5 s.
    assert len(started) == 2
    assert started[1] - started[0] >= 2.0


@pytest.mark.asyncio
async def test_fast_renders_keep_the_configured_pace(settings: object) -> None:
    settings.LIVE_RENDER_SECONDS = 0.25  # type: ignore[attr-defined]
    count = 0

    async def render() -> None:
        nonlocal count
        count += 1

    renders = _Renders(render)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    while loop.time() - t0 < 1.1:
        renders.request()
        await asyncio.sleep(0.02)
    renders.stop()
    assert 3 <= count <= 5  # at 0, 0.25, 0.5, 0.75, 1.0 s: coalesced, not one per change
