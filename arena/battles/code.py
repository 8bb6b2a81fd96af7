"""Find the program in a model's answer and decide where it runs.

Models answer in markdown; the program is the longest fenced block that is not an
install snippet. The fence tag names the language; when it is missing or vague
the content decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from executors.environments import canonical_language, detect, is_mermaid
from executors.packages import requested as requested_packages

FENCE = re.compile(
    r"^(?P<indent>[ \t]{0,3})(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)\n(?P<body>.*?)"
    r"(?:^(?P=indent)?(?P=fence)[`~]*[ \t]*$|\Z)",
    re.MULTILINE | re.DOTALL,
)

# Blocks with these tags are install notes or console transcripts, not the program.
INSTALL_TAGS = {"bash", "sh", "shell", "console", "zsh", "text", "plaintext", "txt", "output"}
INSTALL_LINE = re.compile(r"^\s*(\$\s*)?(pip3?|npm|yarn|pnpm|uv|apt(-get)?|cargo|go get)\b")


@dataclass(frozen=True)
class ExtractedCode:
    code: str
    language: str  # a canonical name (executors.environments.language_labels)
    environment: str  # where it runs (executors.environments.ENVIRONMENT_LABELS)
    packages: tuple[str, ...] = ()  # requirements on the answer's `pip install` lines


def extract_code(markdown: str) -> ExtractedCode | None:
    """The program in an answer, or None if the answer holds none."""
    blocks = [
        (m.group("info").split()[0].lower() if m.group("info").strip() else "", m.group("body"))
        for m in FENCE.finditer(markdown)
    ]
    programs = [(tag, body) for tag, body in blocks if body.strip() and not _is_install(tag, body)]
    if not programs:
        return None
    tag, body = max(programs, key=lambda block: len(block[1]))
    language = (canonical_language(tag) if tag else None) or guess_language(body)
    if language is None:
        return None
    language, environment = detect(language, body)
    packages = tuple(requested_packages(markdown)) if language == "python" else ()
    return ExtractedCode(body.rstrip() + "\n", language, environment, packages)


def _is_install(tag: str, body: str) -> bool:
    if tag not in INSTALL_TAGS:
        return False
    lines = [line for line in body.splitlines() if line.strip() and not line.startswith("#")]
    # A bash block made only of install commands is notes; a real bash script is a program.
    return tag != "bash" or all(INSTALL_LINE.match(line) for line in lines)


def guess_language(code: str) -> str | None:
    """Content sniffing for untagged or vaguely tagged fences, most specific signals first.
    `detect` then refines a web language into React or Vue and Python into an app."""
    if is_mermaid(code):
        return "mermaid"
    checks = [
        ("html", r"<!DOCTYPE html|<html[\s>]"),
        ("vue", r"^\s*<template[\s>]"),
        ("java", r"\bpublic\s+(final\s+)?class\s+\w+|System\.out\.print"),
        ("cpp", r"#include\s*<(iostream|vector|string|map|algorithm)>|std::"),
        ("c", r"#include\s*<stdio\.h>|\bprintf\s*\("),
        ("go", r"^package\s+main\b|\bfmt\.Print"),
        ("rust", r"\bfn\s+main\s*\(\)|println!\("),
        ("typescript", r":\s*(number|string|boolean)\b.*[=;)]|\binterface\s+\w+\s*\{"),
        ("javascript", r"\bconsole\.log\(|\bfunction\s+\w+\s*\(|=>|\bimport\s.*\bfrom\s+['\"]"),
        ("bash", r"^#!/bin/(ba)?sh|^\s*echo\s"),
        ("python", r"^\s*(def|import|from)\s|\bprint\("),
    ]
    for language, pattern in checks:
        if re.search(pattern, code, re.MULTILINE):
            return language
    return None


CATEGORY_KEYWORDS = {
    "web design": r"\b(html|css|web ?page|landing|website|form|button|layout)\b",
    "games": r"\b(game|snake|tetris|chess|tic[- ]tac[- ]toe|pong|maze|sudoku)\b",
    "data": r"\b(pandas|csv|dataframe|dataset|statistic|json|parse|log file)\b",
    "scientific computing": r"\b(numpy|simulat|matrix|integral|physics|plot|equation|fft)\b",
    "creative coding": r"\b(ascii art|fractal|draw|animation|generative|mandelbrot|poem)\b",
    "algorithms": r"\b(sort|search|graph|tree|dynamic programming|prime|fibonacci|algorithm"
    r"|palindrome|binary|linked list|shortest path)\b",
}


def classify_category(prompt: str) -> str:
    """A coarse task category for leaderboards when the rater typed their own request."""
    lowered = prompt.lower()
    for category, pattern in CATEGORY_KEYWORDS.items():
        if re.search(pattern, lowered):
            return category
    return "general"
