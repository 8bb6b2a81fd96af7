from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from arena.asgi import application
from arena.battles.broadcast import battle_changed
from arena.battles.models import Response
from arena.raters.models import Rater
from arena.raters.services import COOKIE_NAME, cookie_value

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def rater_cookie(rater: Rater) -> bytes:
    return f"{COOKIE_NAME}={cookie_value(rater)}".encode()


async def connect(
    battle, rater: Rater | None, origin: bytes = b"http://127.0.0.1", host: bytes = b"127.0.0.1"
) -> tuple[WebsocketCommunicator, bool]:
    headers = [(b"origin", origin), (b"host", host)]
    if rater is not None:
        headers.append((b"cookie", rater_cookie(rater)))
    communicator = WebsocketCommunicator(application, f"/ws/battles/{battle.id}/", headers)
    connected, _ = await communicator.connect()
    if not connected:
        # Let the refused consumer end inside the test. Left pending, it is cancelled when
        # the test's event loop closes, mid-read on the Redis channel layer, and that
        # cancellation hung the run for pytest's whole timeout (seen twice in CI).
        await communicator.disconnect()
    return communicator, connected


async def test_the_owner_gets_the_current_panes_on_connect(alice, make_battle) -> None:
    battle = await sync_to_async(make_battle)(alice, answers=Response.Status.STREAMING)
    communicator, connected = await connect(battle, alice)
    assert connected
    first = await communicator.receive_from()
    assert 'hx-swap-oob="true"' in first
    assert "hello from a" in first and "hello from b" in first
    assert 'id="vote-panel"' in first
    await communicator.disconnect()


async def test_someone_else_cannot_watch_a_battle(alice, bob, make_battle) -> None:
    battle = await sync_to_async(make_battle)(alice)
    for stranger in (bob, None):
        communicator, connected = await connect(battle, stranger)
        assert not connected


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        (b"http://127.0.0.1:8001", b"127.0.0.1:8000"),  # another port of the same host
        (b"http://127.0.0.1", b"127.0.0.1:8000"),
        (b"https://127.0.0.1:8000", b"127.0.0.1:8000"),  # another scheme
        (b"http://localhost:8000", b"127.0.0.1:8000"),  # another allowed host
        (b"http://evil.example:8000", b"evil.example:8000"),  # a host not allowed
        (b"null", b"127.0.0.1"),
        (b"", b"127.0.0.1"),
    ],
)
async def test_a_socket_from_another_origin_is_refused_even_with_the_raters_cookie(
    alice, make_battle, origin: bytes, host: bytes
) -> None:
    battle = await sync_to_async(make_battle)(alice)
    _, connected = await connect(battle, alice, origin=origin, host=host)
    assert not connected


async def test_a_socket_from_the_sites_own_origin_and_port_opens(alice, make_battle) -> None:
    battle = await sync_to_async(make_battle)(alice)
    communicator, connected = await connect(
        battle, alice, origin=b"http://localhost:8000", host=b"localhost:8000"
    )
    assert connected
    await communicator.disconnect()


async def test_a_change_is_pushed_and_only_changed_fragments_are_sent(alice, make_battle) -> None:
    battle = await sync_to_async(make_battle)(alice, answers=Response.Status.STREAMING)
    communicator, _ = await connect(battle, alice)
    await communicator.receive_from()
    await sync_to_async(
        lambda: Response.objects.filter(turn__battle=battle, side="b").update(text="new words")
    )()
    await sync_to_async(battle_changed)(battle.id)
    update = await communicator.receive_from()
    assert "new words" in update
    assert "hello from a" not in update  # side A did not change, so it is not re-sent
    await communicator.disconnect()


async def test_a_malformed_message_is_answered_and_changes_nothing(alice, make_battle) -> None:
    battle = await sync_to_async(make_battle)(alice)
    communicator, _ = await connect(battle, alice)
    await communicator.receive_from()
    for junk in ("{not json", "[1, 2]", '{"action": "delete everything"}'):
        await communicator.send_to(text_data=junk)
        reply = await communicator.receive_from()
        assert "Ignored a malformed message" in reply
    await communicator.send_to(text_data='{"action": "refresh"}')
    assert "hello from a" in await communicator.receive_from()
    await communicator.disconnect()


async def test_an_open_page_says_it_is_there_and_a_quiet_one_is_not_counted(
    alice, make_battle
) -> None:
    """Presence is a timestamp, not a counter: a socket cut without a goodbye cannot
    leave a count behind, it just stops refreshing seen_at."""
    from datetime import timedelta

    from django.utils import timezone

    from arena.battles.models import Battle

    battle = await sync_to_async(make_battle)(alice)
    long_ago = timezone.now() - timedelta(hours=1)
    await sync_to_async(Battle.objects.filter(pk=battle.pk).update)(seen_at=long_ago)
    seen_at = sync_to_async(lambda: Battle.objects.get(pk=battle.pk).seen_at)
    page, _ = await connect(battle, alice)
    await page.receive_from()
    connected_at = await seen_at()
    assert connected_at > long_ago
    await page.send_to(text_data='{"action": "heartbeat"}')
    assert await page.receive_nothing(timeout=0.3)  # a heartbeat needs no answer
    assert await seen_at() > connected_at
    assert not await sync_to_async(
        Battle.objects.filter(pk=battle.pk, seen_at__lt=long_ago).exists
    )()
    await page.disconnect()


async def test_a_burst_of_changes_is_rendered_once_with_the_latest_state(
    alice, make_battle, settings
) -> None:
    settings.LIVE_RENDER_SECONDS = 0.5
    battle = await sync_to_async(make_battle)(alice, answers=Response.Status.STREAMING)
    page, _ = await connect(battle, alice)
    await page.receive_from()
    answer = Response.objects.filter(turn__battle=battle, side="b")
    for n in range(20):
        await sync_to_async(answer.update)(text=f"words {n}")
        await sync_to_async(battle_changed)(battle.id)
    first = await page.receive_from()  # the first change renders at once
    latest = await page.receive_from(timeout=2)  # the rest fold into one render
    assert "words 19" in latest and "words 19" not in first
    assert await page.receive_nothing(timeout=0.8)
    await page.disconnect()


async def test_a_new_turn_sends_the_whole_conversation_once(alice, make_battle) -> None:
    from arena.battles.models import Turn

    battle = await sync_to_async(make_battle)(alice)
    communicator, _ = await connect(battle, alice)
    assert 'id="turns"' in await communicator.receive_from()
    await sync_to_async(Turn.objects.create)(battle=battle, index=1, prompt="and now in Rust")
    await sync_to_async(battle_changed)(battle.id)
    update = await communicator.receive_from()
    assert 'id="turns" hx-swap-oob="true"' in update and "and now in Rust" in update
    await sync_to_async(battle_changed)(battle.id)
    assert await communicator.receive_nothing(timeout=0.5)  # nothing changed since
    await communicator.disconnect()
