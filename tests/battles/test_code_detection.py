"""Which environment an answer runs in, decided from its fence tag and its content.

The table holds answers as models write them, including the confusions a tag-only
mapping gets wrong: React in an ```html or ```javascript fence, a Vue component in
```html, a whole HTML page that loads React itself, Mermaid untagged or in ```markdown,
and Python that is really a Streamlit, Gradio or PyGame app."""

from __future__ import annotations

import pytest

from arena.battles.code import extract_code
from executors.environments import run_target, run_targets, target_of

REACT_COUNTER = """\
import React, { useState } from 'react';

export default function Counter() {
  const [count, setCount] = useState(0);
  return (
    <button onClick={() => setCount(count + 1)}>Clicked {count} times</button>
  );
}
"""
REACT_TSX = """\
import { useState } from "react";

interface Todo { id: number; text: string; done: boolean }

const App: React.FC = () => {
  const [todos, setTodos] = useState<Todo[]>([]);
  return <ul>{todos.map((t) => <li key={t.id}>{t.text}</li>)}</ul>;
};
export default App;
"""
VUE_SFC = """\
<template>
  <button @click="count++">Count: {{ count }}</button>
</template>

<script setup>
import { ref } from 'vue'
const count = ref(0)
</script>

<style scoped>
button { color: teal; }
</style>
"""
HTML_PAGE_WITH_REACT = """\
<!DOCTYPE html>
<html>
<head><script src="https://unpkg.com/react@18/umd/react.production.min.js"></script></head>
<body><div id="root"></div>
<script>
  const e = React.createElement;
  ReactDOM.createRoot(document.getElementById('root')).render(e('h1', null, 'Hi'));
</script>
</body>
</html>
"""
PLAIN_HTML = """\
<!DOCTYPE html>
<html lang="en">
<head><title>To-do</title><style>body { font-family: sans-serif; }</style></head>
<body><form id="f"><input id="t"><button>Add</button></form><ul id="l"></ul>
<script>document.getElementById('f').onsubmit = (e) => { e.preventDefault(); };</script>
</body></html>
"""
MERMAID = """\
flowchart TD
    A[Start] --> B{Is it working?}
    B -- Yes --> C[Ship it]
    B -- No --> D[Debug] --> B
"""
SEQUENCE = """\
%% the login flow
sequenceDiagram
    Alice->>Server: POST /login
    Server-->>Alice: 302 /home
"""
STREAMLIT = """\
import streamlit as st
import pandas as pd

st.title("Sales dashboard")
n = st.slider("Rows", 1, 100, 10)
st.dataframe(pd.DataFrame({"x": range(n)}))
"""
GRADIO = """\
import gradio as gr

def greet(name):
    return f"Hello {name}!"

gr.Interface(fn=greet, inputs="text", outputs="text").launch()
"""
PYGAME = """\
import pygame
import sys

pygame.init()
screen = pygame.display.set_mode((400, 300))
while True:
    for event in pygame.event.get():
        if event.type == pygame.QUIT:
            sys.exit()
    pygame.display.flip()
"""
PLAIN_PYTHON = """\
import sys

def main():
    print(sum(int(line) for line in sys.stdin))

main()
"""
JS_WITH_HTML_STRINGS = """\
function render(items) {
  return items.map((item) => '<li>' + item + '</li>').join('');
}
console.log(render(['a', 'b']));
"""
INSTALL_NOTE = "```bash\npip install streamlit pandas\n```\n"


def fenced(tag: str, body: str) -> str:
    return f"Here is the program.\n\n```{tag}\n{body}```\n\nEnjoy!"


@pytest.mark.parametrize(
    ("answer", "language", "environment"),
    [
        (fenced("jsx", REACT_COUNTER), "jsx", "react"),
        (fenced("javascript", REACT_COUNTER), "jsx", "react"),  # React in a JS fence
        (fenced("html", REACT_COUNTER), "jsx", "react"),  # the known html/React confusion
        (fenced("", REACT_COUNTER), "jsx", "react"),
        (fenced("tsx", REACT_TSX), "tsx", "react"),
        (fenced("typescript", REACT_TSX), "tsx", "react"),
        (fenced("react", REACT_COUNTER), "jsx", "react"),
        (fenced("vue", VUE_SFC), "vue", "vue"),
        (fenced("html", VUE_SFC), "vue", "vue"),  # a component is not a page
        (fenced("", VUE_SFC), "vue", "vue"),
        (fenced("html", HTML_PAGE_WITH_REACT), "html", "html"),  # a page that loads React
        (fenced("html", PLAIN_HTML), "html", "html"),
        (fenced("", PLAIN_HTML), "html", "html"),
        (fenced("mermaid", MERMAID), "mermaid", "mermaid"),
        (fenced("", MERMAID), "mermaid", "mermaid"),
        (fenced("markdown", SEQUENCE), "mermaid", "mermaid"),
        (INSTALL_NOTE + fenced("python", STREAMLIT), "python", "streamlit"),
        (fenced("python", GRADIO), "python", "gradio"),
        (fenced("py", PYGAME), "python", "pygame"),
        (fenced("python", PLAIN_PYTHON), "python", "interpreter"),
        (fenced("javascript", JS_WITH_HTML_STRINGS), "javascript", "interpreter"),
    ],
)
def test_an_answer_runs_in_the_environment_its_content_needs(
    answer: str, language: str, environment: str
) -> None:
    found = extract_code(answer)
    assert found is not None
    assert (found.language, found.environment) == (language, environment)


def test_the_rater_can_run_an_answer_as_any_environment() -> None:
    values = [value for value, _ in run_targets()]
    for environment in ("html", "react", "vue", "mermaid", "streamlit", "gradio", "pygame"):
        assert environment in values
    assert run_target("streamlit", PLAIN_PYTHON) == ("python", "streamlit")
    assert run_target("react", REACT_TSX) == ("tsx", "react")
    assert run_target("react", REACT_COUNTER) == ("jsx", "react")
    assert run_target("python", STREAMLIT) == ("python", "interpreter")
    assert run_target("cobol", PLAIN_PYTHON) is None


def test_a_run_target_names_the_environment_unless_it_is_a_console_program() -> None:
    assert target_of("python", "interpreter") == "python"
    assert target_of("python", "gradio") == "gradio"
    assert target_of("tsx", "react") == "react"


def test_a_python_answers_install_lines_become_its_runs_packages() -> None:
    found = extract_code(INSTALL_NOTE + fenced("python", STREAMLIT))
    assert found is not None and found.packages == ("streamlit", "pandas")
    page = extract_code(INSTALL_NOTE + fenced("html", "<!DOCTYPE html><p>hi</p>\n"))
    assert page is not None and page.packages == ()  # pip means nothing to a web page
