"""Reward models and LLM judges, judging jobs, and their agreement with human raters.

`arena.judges.agreement` is the pure agreement math and CLI (no Django imports).
"""
