"""Server apps as raters use them: a Streamlit and a Gradio answer run in live sandboxes
behind the app proxy, framed in the battle page; only the battle's rater gets in; caps
refuse clearly; an idle app is stopped and its sandbox is gone; a crash is shown."""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import FrameLocator, Page, expect

from tests.browser.conftest import Arena, type_and_start
from tests.browser.test_previews import escape_page
from tests.fakes import markdown_answer, openai_server

pytestmark = pytest.mark.browser

STREAMLIT_COUNTER = """\
import streamlit as st

st.title("Tally")
if "count" not in st.session_state:
    st.session_state.count = 0
if st.button("Add one"):
    st.session_state.count += 1
st.write(f"Count: {st.session_state.count}")
name = st.text_input("Your name")
if name:
    st.write(f"Hello, {name}!")
"""
GRADIO_GREETER = """\
import gradio as gr

def greet(name):
    return "Hello " + name + "!"

demo = gr.Interface(fn=greet, inputs=gr.Textbox(label="name"), outputs=gr.Textbox(label="greeting"))
demo.launch(share=True)
"""
GRADIO_CRASH = """\
import gradio as gr

raise RuntimeError("the model forgot something")
"""
# Arrow keys move the square; nothing moves without a key, so a new frame means a key.
PYGAME_SQUARE = """\
import pygame

pygame.init()
screen = pygame.display.set_mode((320, 240))
pygame.display.set_caption("Square")
clock = pygame.time.Clock()
x, y = 150, 110
running = True
while running:
    for event in pygame.event.get():
        if event.type == pygame.QUIT:
            running = False
        elif event.type == pygame.KEYDOWN and event.key == pygame.K_ESCAPE:
            running = False
    keys = pygame.key.get_pressed()
    x += (keys[pygame.K_RIGHT] - keys[pygame.K_LEFT]) * 4
    y += (keys[pygame.K_DOWN] - keys[pygame.K_UP]) * 4
    screen.fill((20, 20, 40))
    pygame.draw.rect(screen, (240, 200, 40), (x, y, 20, 20))
    pygame.display.flip()
    clock.tick(60)
pygame.quit()
"""
PYGAME_CRASH = """\
import pygame

pygame.init()
screen = pygame.display.set_mode((320, 240))
speed = 10 / 0
"""
APP_START_MS = 90_000  # cold starts on a loaded 2-core machine
APP_RENDER_MS = 60_000  # Streamlit's first render loads megabytes of scripts


@pytest.fixture
def arena(arena_with: Callable[..., Arena]) -> Arena:
    """The arena as it runs by default: a warm spare per framework (APP_WARM=1)."""
    return arena_with(APP_WARM="1")


@pytest.fixture
def battle_with(arena: Arena, page: Page) -> Iterator[Callable[..., None]]:
    """Start a battle whose two models both answer with `code`, open in `page`."""
    with contextlib.ExitStack() as servers:

        def start(code: str, language: str = "python") -> None:
            answer = markdown_answer(code, language=language)
            server = servers.enter_context(openai_server(default=answer))
            model = {"provider": "openai", "base_url": server.base_url, "is_active": True}
            arena.use_models(
                {**model, "name": "left", "model_id": "left-v1"},
                {**model, "name": "right", "model_id": "right-v1"},
            )
            type_and_start(page, arena.url, "Build an app")
            expect(page).to_have_url(re.compile(r"/battles/[0-9a-f-]{36}/$"))

        yield start


def app_frames(page: Page, count: int = 2) -> FrameLocator:
    expect(page.locator("iframe.preview")).to_have_count(count, timeout=APP_START_MS)
    return page.frame_locator("iframe.preview").first


def app_descendants(root: int) -> set[int]:
    """Pids below `root` (the Daphne server): the app sandboxes it started."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{entry}/stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry))
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def app_processes(root: int) -> set[int]:
    """Processes below `root` running inside an app sandbox that holds an answer's app
    (warm spares, waiting without one, are not counted)."""
    found = set()
    for pid in app_descendants(root):
        with contextlib.suppress(OSError):
            if os.path.exists(f"/proc/{pid}/root/work/app.py"):
                found.add(pid)
    return found


def wait_until_gone(root: int, timeout_s: float = 15) -> set[int]:
    deadline = time.monotonic() + timeout_s
    while app_processes(root) and time.monotonic() < deadline:
        time.sleep(0.2)
    return app_processes(root)


def test_a_streamlit_app_renders_and_a_click_and_an_input_change_it(
    arena: Arena, page: Page, battle_with
) -> None:
    battle_with(STREAMLIT_COUNTER)
    frame = app_frames(page)
    expect(frame.get_by_text("Count: 0")).to_be_visible(timeout=APP_RENDER_MS)
    frame.get_by_role("button", name="Add one").click()
    expect(frame.get_by_text("Count: 1")).to_be_visible()
    field = frame.get_by_label("Your name")
    field.fill("Ada")
    field.press("Enter")
    expect(frame.get_by_text("Hello, Ada!")).to_be_visible()
    expect(page.locator(".run .badge.status-ok")).to_have_count(2)
    # Telemetry arrives from the app's page as from any preview.
    page.wait_for_timeout(1500)
    kinds = arena.shell(
        "from arena.runs.models import Execution as E\n"
        "print(sorted({e.kind for x in E.objects.filter(environment='streamlit')"
        " for e in x.events.all()}))"
    )
    assert "load" in kinds and "click" in kinds


def test_a_gradio_app_answers(arena: Arena, page: Page, battle_with) -> None:
    battle_with(GRADIO_GREETER)
    frame = app_frames(page)
    frame.get_by_label("name").fill("Ada")
    frame.get_by_role("button", name="Submit").click()
    expect(frame.get_by_label("greeting")).to_have_value("Hello Ada!", timeout=30_000)


def test_only_the_battles_rater_reaches_its_app(arena: Arena, page: Page, battle_with) -> None:
    battle_with(STREAMLIT_COUNTER)
    frame = app_frames(page)
    expect(frame.get_by_text("Count: 0")).to_be_visible(timeout=APP_RENDER_MS)
    with_ticket = page.locator("iframe.preview").first.get_attribute("src") or ""
    bare = with_ticket.split("?", 1)[0]
    assert "arena_ticket=" in with_ticket
    browser = page.context.browser
    assert browser is not None
    stranger = browser.new_context()  # another rater: no pass cookie
    try:
        other = stranger.new_page()
        response = other.goto(bare)
        assert response is not None and response.status == 403
        expect(other.locator("body")).to_contain_text("open only to the rater")
        token = bare.rstrip("/").split("/")[-1]
        forged = other.goto(f"{bare}?arena_ticket={token}")  # an unsigned ticket
        assert forged is not None and forged.status == 403
        # A page of another origin cannot open the app's websocket, even holding the
        # URL: the proxy wants the preview origin and the pass cookie.
        other.goto(arena.url + "/")
        opened = other.evaluate(
            """(url) => new Promise((done) => {
                const ws = new WebSocket(url);
                ws.onopen = () => done('opened');
                ws.onerror = ws.onclose = () => done('refused');
            })""",
            bare.replace("http", "ws") + "_stcore/stream",
        )
        assert opened == "refused"
    finally:
        stranger.close()
    # The rater's own frame still works.
    frame.get_by_role("button", name="Add one").click()
    expect(frame.get_by_text("Count: 1")).to_be_visible()


def test_the_per_rater_cap_refuses_with_a_clear_message(
    arena_with: Callable[..., Arena], page: Page
) -> None:
    arena = arena_with(APP_MAX_PER_RATER="1")
    with openai_server(default=markdown_answer(STREAMLIT_COUNTER, language="python")) as server:
        model = {"provider": "openai", "base_url": server.base_url, "is_active": True}
        arena.use_models(
            {**model, "name": "left", "model_id": "left-v1"},
            {**model, "name": "right", "model_id": "right-v1"},
        )
        type_and_start(page, arena.url, "Build an app")
        expect(page.locator("iframe.preview")).to_have_count(1, timeout=APP_START_MS)
        expect(page.locator(".run .error")).to_contain_text(
            "You already have 1 apps running", timeout=APP_START_MS
        )
        expect(page.locator(".run .badge.status-sandbox_error")).to_have_count(1)


def test_the_global_cap_refuses_with_a_clear_message(
    arena_with: Callable[..., Arena], page: Page
) -> None:
    arena = arena_with(APP_MAX_LIVE="1")
    with openai_server(default=markdown_answer(STREAMLIT_COUNTER, language="python")) as server:
        model = {"provider": "openai", "base_url": server.base_url, "is_active": True}
        arena.use_models(
            {**model, "name": "left", "model_id": "left-v1"},
            {**model, "name": "right", "model_id": "right-v1"},
        )
        type_and_start(page, arena.url, "Build an app")
        expect(page.locator(".run .error")).to_contain_text(
            "The arena is running its most apps at once (1)", timeout=APP_START_MS
        )


def test_an_idle_app_is_stopped_and_its_sandbox_is_gone(
    arena_with: Callable[..., Arena], page: Page
) -> None:
    arena = arena_with(APP_IDLE_SECONDS="8", APP_WARM="1")
    with openai_server(default=markdown_answer(STREAMLIT_COUNTER, language="python")) as server:
        model = {"provider": "openai", "base_url": server.base_url, "is_active": True}
        arena.use_models(
            {**model, "name": "left", "model_id": "left-v1"},
            {**model, "name": "right", "model_id": "right-v1"},
        )
        type_and_start(page, arena.url, "Build an app")
        app_frames(page)
        assert app_processes(arena.pid)  # both apps run, each in its sandbox
        # The rater does nothing in them now: an open app's page sends nothing by itself.
        expect(page.locator(".run").first).to_contain_text(
            "The app stopped after 8 seconds without use", timeout=60_000
        )
        expect(page.locator(".run").last).to_contain_text("without use", timeout=15_000)
        expect(page.locator("iframe.preview")).to_have_count(0)
        assert wait_until_gone(arena.pid) == set()


def test_an_apps_page_cannot_reach_the_arena_its_cookies_the_network_or_the_other_side(
    arena: Arena, page: Page, battle_with
) -> None:
    """An app's page runs the model's script too (Streamlit's components.html): from
    inside it, every way out is blocked as from a page preview."""
    script = escape_page(arena.url)
    battle_with(
        "import streamlit as st\nimport streamlit.components.v1 as components\n"
        f"st.title('Escape')\ncomponents.html({script!r}, height=300)\n"
    )
    inner = app_frames(page).frame_locator("iframe")
    expect(inner.locator("#out")).to_contain_text("done", timeout=APP_RENDER_MS)
    lines = inner.locator("#out").inner_text().split("\n")
    assert "cookie=" in lines  # the pass cookie is HttpOnly, the arena's too
    for way_out in ("parent", "top", "popup", "api", "net", "ws", "sibling"):
        assert f"{way_out}=blocked" in lines
    assert page.url.endswith("/") and "/battles/" in page.url


def test_a_vote_stops_the_battles_apps(arena: Arena, page: Page, battle_with) -> None:
    battle_with(STREAMLIT_COUNTER)
    frame = app_frames(page)
    expect(frame.get_by_text("Count: 0")).to_be_visible(timeout=APP_RENDER_MS)
    assert app_processes(arena.pid)
    page.get_by_role("button", name="A is better").click()
    page.get_by_role("button", name="Submit vote and reveal").click()
    expect(page.locator(".run").first).to_contain_text("The battle is over", timeout=15_000)
    assert wait_until_gone(arena.pid) == set()


def test_a_crashing_app_is_a_runtime_error_with_its_traceback(
    arena: Arena, page: Page, battle_with
) -> None:
    battle_with(GRADIO_CRASH)
    expect(page.locator(".run .badge.status-runtime_error")).to_have_count(2, timeout=APP_START_MS)
    expect(page.locator(".run pre.stderr").first).to_contain_text("the model forgot something")
    expect(page.locator("iframe.preview")).to_have_count(0)


def test_a_pygame_game_is_shown_live_and_an_arrow_key_moves_it(
    arena: Arena, page: Page, battle_with
) -> None:
    battle_with(PYGAME_SQUARE)
    frame = app_frames(page)
    expect(frame.get_by_text("Click the game, then play.")).to_be_visible(timeout=APP_START_MS)
    canvas = frame.locator("canvas")
    before = canvas.evaluate("(c) => c.toDataURL()")
    canvas.click()
    expect(frame.get_by_text("Playing: keys go to the game.")).to_be_visible()
    page.keyboard.down("ArrowRight")
    page.wait_for_timeout(300)  # the game moves the square while the key is held
    page.keyboard.up("ArrowRight")
    game = page.locator("iframe.preview").first.element_handle().content_frame()
    assert game is not None
    game.wait_for_function(
        "(before) => document.querySelector('canvas').toDataURL() !== before",
        arg=before,
        timeout=10_000,
    )
    expect(page.locator(".run .badge.status-ok")).to_have_count(2)


def test_a_pygame_game_that_crashes_at_start_shows_its_traceback(
    arena: Arena, page: Page, battle_with
) -> None:
    battle_with(PYGAME_CRASH)
    expect(page.locator(".run .badge.status-runtime_error")).to_have_count(2, timeout=APP_START_MS)
    expect(page.locator(".run pre.stderr").first).to_contain_text("ZeroDivisionError")
    expect(page.locator(".run .error").first).to_have_text("ZeroDivisionError: division by zero")


def test_the_offline_demo_answers_a_game_request_with_live_games(arena: Arena, page: Page) -> None:
    # The two strong demo models: both recorded a working game (arena/llms/demo).
    arena.manage(
        "shell",
        "-c",
        "from arena.llms.models import LanguageModel as M; "
        "M.objects.exclude(name__in=['demo-atlas','demo-breeze']).update(is_active=False)",
    )
    type_and_start(page, arena.url, "Make a small PyGame game: a square I move with the arrow keys")
    expect(page.locator("iframe.preview")).to_have_count(2, timeout=APP_START_MS)
    for index in range(2):
        game = page.frame_locator("iframe.preview").nth(index)
        expect(game.get_by_text("Click the game, then play.")).to_be_visible(timeout=APP_START_MS)
