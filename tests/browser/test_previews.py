"""Previews as raters use them: every page environment renders on the preview origin,
reacts to a click and reports telemetry; forms, storage and reload work; escapes are
blocked, asserted inside the browser."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import FrameLocator, Page, expect

from tests.browser.conftest import type_and_start
from tests.fakes import markdown_answer, openai_server

pytestmark = pytest.mark.browser

REACT_COUNTER = """\
import React, { useState } from 'react';

export default function Counter() {
  const [count, setCount] = useState(0);
  return (
    <button className="rounded bg-blue-600 px-4 text-white" onClick={() => setCount(count + 1)}>
      Clicked {count} times
    </button>
  );
}"""
TSX_COUNTER = """\
import { useState } from "react";

interface Props { start?: number }

export default function Counter({ start = 0 }: Props) {
  const [count, setCount] = useState<number>(start);
  return <button onClick={() => setCount(count + 1)}>Clicked {count} times</button>;
}"""
VUE_COUNTER = """\
<template>
  <button class="counter" @click="count++">Clicked {{ count }} times</button>
</template>

<script setup lang="ts">
import { ref } from 'vue'
const count = ref<number>(0)
</script>

<style scoped>
.counter { color: teal; }
</style>"""
MERMAID = """\
flowchart TD
    A[Start] --> B{Is it working?}
    B -- Yes --> C[Ship it]"""
TODO_PAGE = """\
<!DOCTYPE html>
<html><head><title>To-do</title></head>
<body>
<form id="add"><input id="item" name="item" placeholder="New item"><button>Add</button></form>
<ul id="list"></ul>
<button id="reload" type="button" onclick="location.reload()">Reload page</button>
<script>
  const items = JSON.parse(localStorage.getItem('todos') || '[]');
  const list = document.getElementById('list');
  function show() {
    list.innerHTML = '';
    items.forEach((t) => {
      const li = document.createElement('li'); li.textContent = t; list.append(li);
    });
  }
  document.getElementById('add').addEventListener('submit', (e) => {
    e.preventDefault();
    items.push(document.getElementById('item').value);
    localStorage.setItem('todos', JSON.stringify(items));
    show();
  });
  show();
</script>
</body></html>"""


def escape_page(arena_url: str) -> str:
    """A page that tries each way out and writes down what happened. It may be nested
    in an app's page (Streamlit's components.html): `top` is the arena's page either way,
    and the other side's preview is one of its frames that is neither this nor its parent."""
    socket_url = arena_url.replace("http", "ws") + "/ws/battles/x/"
    return f"""\
<!DOCTYPE html>
<html><body><pre id="out"></pre>
<script>
  const out = document.getElementById('out');
  const note = (line) => {{ out.textContent += line + '\\n'; }};
  note('cookie=' + document.cookie);
  try {{ note('parent=' + top.document.cookie); }} catch (e) {{ note('parent=blocked'); }}
  try {{ top.location.href = '{arena_url}/leaderboard/'; note('top=moved'); }}
  catch (e) {{ note('top=blocked'); }}
  note('popup=' + (window.open('{arena_url}/') ? 'opened' : 'blocked'));
  const reach = (name, url) => fetch(url, {{credentials: 'include'}})
    .then(() => name + '=reached', () => name + '=blocked');
  const socket = new Promise((done) => {{
    try {{
      const ws = new WebSocket('{socket_url}');
      ws.onopen = () => done('ws=opened');
      ws.onerror = () => done('ws=blocked');
    }} catch (e) {{ done('ws=blocked'); }}
  }});
  // The other side's frame beside this one: polled until it has loaded its page, whose
  // document a frame of the same origin could read (and rewrite). Before that it holds
  // about:blank of the arena's origin, which no preview can read either.
  const sibling = new Promise((done) => {{
    let tries = 0;
    const look = () => {{
      for (let i = 0; i < top.frames.length; i++) {{
        const other = top.frames[i];
        if (other === window || other === parent) continue;
        try {{
          if (other.document.body.innerHTML.length > 0) return done('sibling=reached');
        }} catch (e) {{}}
      }}
      if (++tries > 20) return done('sibling=blocked');
      setTimeout(look, 200);
    }};
    look();
  }});
  Promise.all([
    reach('api', '{arena_url}/'), reach('net', 'http://127.0.0.1:9/'), socket, sibling,
  ])
    .then((lines) => {{ lines.forEach(note); note('done'); }});
</script></body></html>"""


@pytest.fixture
def battle_with(arena, page: Page) -> Iterator[Callable[[str, str], None]]:
    """Start a battle whose two models both answer with `code`, open in `page`."""
    with contextlib.ExitStack() as servers:

        def start(code: str, language: str) -> None:
            answer = markdown_answer(code, language=language)
            server = servers.enter_context(openai_server(default=answer))
            model = {"provider": "openai", "base_url": server.base_url, "is_active": True}
            arena.use_models(
                {**model, "name": "left", "model_id": "left-v1"},
                {**model, "name": "right", "model_id": "right-v1"},
            )
            type_and_start(page, arena.url, "Build it")
            expect(page).to_have_url(re.compile(r"/battles/[0-9a-f-]{36}/$"))

        yield start


def first_preview(page: Page) -> FrameLocator:
    expect(page.locator("iframe.preview")).to_have_count(2, timeout=30_000)
    return page.frame_locator("iframe.preview").first


def events_of_first_preview(arena, page: Page) -> list[str]:
    """The telemetry stored for the first preview on the page (found by its URL token)."""
    token = page.locator("iframe.preview").first.get_attribute("src").rstrip("/").split("/")[-1]
    return json.loads(
        arena.shell(
            "import json\n"
            "from arena.runs.models import Execution\n"
            f"e = Execution.objects.get(preview_token={token!r})\n"
            "print(json.dumps(list(e.events.values_list('kind', flat=True))))"
        )
    )


@pytest.mark.parametrize(
    ("code", "language"),
    [(REACT_COUNTER, "jsx"), (TSX_COUNTER, "tsx"), (VUE_COUNTER, "vue")],
    ids=["react-jsx", "react-tsx", "vue"],
)
def test_a_component_renders_reacts_to_a_click_and_reports_it(
    arena, page: Page, battle_with, code: str, language: str
) -> None:
    battle_with(code, language)
    frame = first_preview(page)
    button = frame.get_by_role("button", name="Clicked 0 times")
    button.click()
    expect(frame.get_by_role("button", name="Clicked 1 times")).to_be_visible()
    expect(page.locator(".preview-box")).to_have_count(2)
    page.wait_for_timeout(1500)  # the bridge sends once a second
    kinds = events_of_first_preview(arena, page)
    assert "load" in kinds and "click" in kinds


def test_a_mermaid_diagram_renders_and_reports_a_click(arena, page: Page, battle_with) -> None:
    battle_with(MERMAID, "mermaid")
    frame = first_preview(page)
    expect(frame.locator("svg")).to_be_visible(timeout=15_000)
    expect(frame.get_by_text("Ship it")).to_be_visible()
    frame.get_by_text("Start", exact=True).click()
    page.wait_for_timeout(1500)
    assert {"load", "click"} <= set(events_of_first_preview(arena, page))


def test_a_todo_page_keeps_its_items_through_a_form_storage_and_reload(
    arena, page: Page, battle_with
) -> None:
    battle_with(TODO_PAGE, "html")
    frame = first_preview(page)
    frame.get_by_placeholder("New item").fill("buy milk")
    frame.get_by_role("button", name="Add").click()
    expect(frame.locator("#list li")).to_have_text(["buy milk"])
    frame.get_by_role("button", name="Reload page").click()  # location.reload()
    expect(frame.locator("#list li")).to_have_text(["buy milk"])  # came back from storage
    page.get_by_role("button", name="Reload").first.click()  # the rater's own control
    expect(frame.locator("#list li")).to_have_text(["buy milk"])


def test_a_preview_cannot_reach_the_arena_its_cookies_the_network_or_the_other_side(
    arena, page: Page, battle_with
) -> None:
    battle_with(escape_page(arena.url), "html")
    battle_url = page.url
    frame = first_preview(page)
    expect(frame.locator("#out")).to_contain_text("done", timeout=15_000)
    lines = frame.locator("#out").inner_text().split("\n")
    arena_cookies = {c["name"] for c in page.context.cookies(arena.url)}
    assert "arena_rater" in arena_cookies  # the rater has a cookie the page must not see
    assert "cookie=" in lines
    for way_out in ("parent", "top", "popup", "api", "net", "ws", "sibling"):
        assert f"{way_out}=blocked" in lines
    assert page.url == battle_url
    page.wait_for_timeout(1500)
    assert "blocked" in events_of_first_preview(arena, page)  # the policy's reports arrive


def test_keys_still_vote_after_a_click_inside_a_preview(arena, page: Page, battle_with) -> None:
    battle_with(REACT_COUNTER, "jsx")
    frame = first_preview(page)
    expect(page.get_by_role("button", name="A is better")).to_be_enabled(timeout=30_000)
    frame.get_by_role("button", name="Clicked 0 times").click()
    page.keyboard.press("1")  # the frame has the focus
    expect(page.get_by_role("button", name="Submit vote and reveal")).to_be_visible()


def test_a_build_error_is_shown_as_one(arena, page: Page, battle_with) -> None:
    broken = "export default function App() {\n  return <div><p>unclosed</div>;\n}"
    battle_with(broken, "jsx")
    runs = page.locator(".run")
    expect(runs).to_have_count(2, timeout=30_000)
    expect(runs.first.locator(".badge")).to_have_text("Compile Error", timeout=30_000)
    expect(runs.first.locator("pre.stderr")).to_contain_text("error:")
    expect(page.locator("iframe.preview")).to_have_count(0)


def test_stdin_from_the_rater_reaches_the_program(arena, page: Page, battle_with) -> None:
    program = "name = input()\nprint(f'Hello, {name}!')"
    battle_with(program, "python")
    expect(page.locator(".run pre.stderr").first).to_contain_text("EOF", timeout=30_000)
    editor = page.locator(".editor").first
    editor.get_by_text("Edit and re-run").click()
    editor.get_by_label("Input (stdin, for console programs)").fill("Ada")
    editor.get_by_role("button", name=re.compile("Run Model A")).click()
    expect(page.locator(".side-column").first.locator(".reruns pre.stdout")).to_have_text(
        "Hello, Ada!", timeout=30_000
    )


def test_the_offline_demo_answers_a_react_request_with_previews(arena, page: Page) -> None:
    arena.shell(
        "from arena.llms.models import LanguageModel as M\n"
        "M.objects.exclude(name__in=['demo-atlas', 'demo-drizzle']).update(is_active=False)"
    )
    type_and_start(
        page, arena.url, "Make a React counter component with + and - buttons and a reset button"
    )
    runs = page.locator(".run")
    expect(runs).to_have_count(2, timeout=60_000)
    expect(page.locator("iframe.preview")).to_have_count(1, timeout=30_000)  # atlas's page
    expect(page.locator(".run .badge", has_text="Compile Error")).to_have_count(1)  # drizzle
    frame = page.frame_locator("iframe.preview")
    frame.get_by_role("button", name="+").click()
    expect(frame.get_by_text("1", exact=True)).to_be_visible()
