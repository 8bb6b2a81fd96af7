from __future__ import annotations

import dataclasses

import pytest

from executors import ExecSpec
from executors.backends.bwrap import BwrapBackend
from executors.base import Backend
from executors.languages import LANGUAGES, get_language, java_class_name, language_names

from .programs import COMPILE_ERROR, ECHO, HELLO, SYNTAX_ERROR

ALL_LANGUAGES = ["python", "javascript", "typescript", "c", "cpp", "java", "go", "rust", "bash"]


def _require(sandbox: Backend, language: str) -> None:
    definition = get_language(language)
    assert definition is not None
    missing = sandbox.missing_toolchain(definition)
    if missing:
        pytest.skip(missing)


def test_every_required_language_is_registered() -> None:
    assert set(ALL_LANGUAGES) <= set(language_names())


@pytest.mark.parametrize("language", ALL_LANGUAGES)
def test_it_runs_hello_world(sandbox: Backend, language: str) -> None:
    _require(sandbox, language)
    result = sandbox.run(ExecSpec(language=language, code=HELLO[language]))
    assert result.status == "ok", result.to_json()
    assert result.stdout == "hello\n"
    assert result.artifacts == []  # neither the source nor a compiled binary


@pytest.mark.parametrize("language", ALL_LANGUAGES)
def test_it_feeds_stdin_to_the_program(sandbox: Backend, language: str) -> None:
    _require(sandbox, language)
    result = sandbox.run(ExecSpec(language=language, code=ECHO[language], stdin="arena\n"))
    assert result.status == "ok", result.to_json()
    assert result.stdout == "ARENA\n"


@pytest.mark.parametrize("language", sorted(COMPILE_ERROR))
def test_it_reports_a_compile_error_with_the_compiler_message(
    sandbox: Backend, language: str
) -> None:
    _require(sandbox, language)
    result = sandbox.run(ExecSpec(language=language, code=COMPILE_ERROR[language]))
    assert result.status == "compile_error", result.to_json()
    assert result.stderr.strip()
    assert result.stderr == result.compile_output


@pytest.mark.parametrize("language", sorted(SYNTAX_ERROR))
def test_a_syntax_error_in_an_interpreted_language_is_a_runtime_error(
    sandbox: Backend, language: str
) -> None:
    result = sandbox.run(ExecSpec(language=language, code=SYNTAX_ERROR[language]))
    assert result.status == "runtime_error"
    assert result.stderr.strip()


def test_java_sources_are_named_after_their_public_class() -> None:
    assert java_class_name("public class Solution { }") == "Solution"
    assert java_class_name("class Helper {}\nclass App { public static void main(String[] a) {} }")
    assert java_class_name("interface X {}") == "Main"


def test_a_language_without_its_toolchain_says_which_one_is_missing(
    bwrap: BwrapBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    go = get_language("go")
    assert go is not None
    monkeypatch.setitem(LANGUAGES, "go", dataclasses.replace(go, host_tools=("/nonexistent/go",)))
    result = bwrap.run(ExecSpec(language="go", code=HELLO["go"]))
    assert result.status == "sandbox_error"
    assert "go toolchain not installed" in result.stderr
