"""The vote dataset schema, version 2: one row per vote, the same fields in every format.

Pure Python + pyarrow, no Django: writers, the card and the tests share it. Any change
to the fields below is a new schema id ("code-arena-votes/3"), never an edit of /2.
Version 2 added `preview_events` to each execution (version 1 had none).
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_ID = "code-arena-votes/2"
DATA_FILE_STEM = "votes"
FORMATS = ("jsonl", "parquet", "csv")

# Program output is capped per stream: enough to judge a run, small enough that a
# million rows stay a dataset rather than a log archive.
OUTPUT_MAX_CHARS = 8_192

# Interaction event data is exported by allow-list: a new key could carry anything,
# so it stays out until someone decides it is safe to publish.
EVENT_DATA_KEYS = ("edited", "language", "language_overridden")

# Preview telemetry (what the rater did inside a web preview) likewise: positions, sizes,
# the clicked element's tag, named keys, the error's line and the refused CSP directive.
# Kept out: the clicked element's text, error messages and blocked URIs, free text that
# can carry what the rater typed into the page (the page may echo it anywhere).
PREVIEW_EVENT_DATA_KEYS = (
    "width",
    "height",
    "x",
    "y",
    "target",
    "key",
    "typing",
    "line",
    "directive",
    "truncated",
)

# Chatbot Arena's names for the outcomes (FastChat, lmsys datasets).
ARENA_WINNER = {
    "model_a": "model_a",
    "model_b": "model_b",
    "tie": "tie",
    "both_bad": "tie (bothbad)",
}

MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
FEEDBACK = pa.struct([("dimension", pa.string()), ("choice", pa.string())])
ARTIFACT = pa.struct(
    [("name", pa.string()), ("mime", pa.string()), ("size", pa.int64()), ("sha256", pa.string())]
)
RESPONSE = pa.struct(
    [
        ("side", pa.string()),
        ("turn", pa.int32()),
        ("status", pa.string()),
        ("code", pa.string()),
        ("code_language", pa.string()),
        ("reasoning", pa.string()),
        ("ttft_ms", pa.int64()),
        ("total_ms", pa.int64()),
        ("input_tokens", pa.int64()),
        ("output_tokens", pa.int64()),
    ]
)
PREVIEW_EVENT = pa.struct(
    [
        ("kind", pa.string()),
        ("tstamp", pa.float64()),
        ("client_tstamp", pa.float64()),
        ("data", pa.string()),
    ]
)
EXECUTION = pa.struct(
    [
        ("side", pa.string()),
        ("turn", pa.int32()),
        ("code", pa.string()),
        ("language", pa.string()),
        ("environment", pa.string()),
        ("is_edited", pa.bool_()),
        ("status", pa.string()),
        ("exit_code", pa.int32()),
        ("signal", pa.int32()),
        ("wall_ms", pa.int64()),
        ("cpu_ms", pa.int64()),
        ("stdout", pa.string()),
        ("stderr", pa.string()),
        ("stdout_truncated", pa.bool_()),
        ("stderr_truncated", pa.bool_()),
        ("artifacts", pa.list_(ARTIFACT)),
        ("preview_events", pa.list_(PREVIEW_EVENT)),
        ("tstamp", pa.float64()),
    ]
)
EVENT = pa.struct(
    [
        ("kind", pa.string()),
        ("side", pa.string()),
        ("turn", pa.int32()),
        ("tstamp", pa.float64()),
        ("data", pa.string()),
    ]
)

# (name, arrow type, description). The order is the column order of every format.
FIELDS: tuple[tuple[str, pa.DataType, str], ...] = (
    ("schema", pa.string(), f'Schema id, always "{SCHEMA_ID}".'),
    ("vote_id", pa.int64(), "The vote's id (votes are append-only; ids never change)."),
    ("battle_id", pa.string(), "The battle's UUID."),
    ("conversation_a_id", pa.string(), "UUID of side A's conversation (uuid5 of battle id, 'a')."),
    ("conversation_b_id", pa.string(), "UUID of side B's conversation (uuid5 of battle id, 'b')."),
    ("model_a", pa.string(), "Public name of the model on side A."),
    ("model_b", pa.string(), "Public name of the model on side B."),
    ("winner", pa.string(), "Chatbot Arena convention: model_a, model_b, tie, tie (bothbad)."),
    ("vote", pa.string(), "The raw vote: model_a, model_b, tie, both_bad."),
    ("feedback", pa.list_(FEEDBACK), "Optional per-dimension votes, sorted by dimension."),
    ("turn", pa.int32(), "Number of turns (user requests) in the battle."),
    ("conversation_a", pa.list_(MESSAGE), "Side A: [{role: user|assistant, content}]."),
    ("conversation_b", pa.list_(MESSAGE), "Side B: [{role: user|assistant, content}]."),
    ("responses", pa.list_(RESPONSE), "Per side and turn: status, extracted code, timings."),
    (
        "executions",
        pa.list_(EXECUTION),
        f"Every sandbox run in order; stdout/stderr capped at {OUTPUT_MAX_CHARS:,} characters, "
        "*_truncated says the sandbox or the export cut it; artifacts by name and sha256; "
        "preview_events: what the rater did in a web preview (kind, server and page time, "
        "data as JSON holding only the keys " + ", ".join(PREVIEW_EVENT_DATA_KEYS) + ").",
    ),
    (
        "events",
        pa.list_(EVENT),
        "Rater interactions (edits, re-runs); data is JSON holding only the keys "
        + ", ".join(EVENT_DATA_KEYS)
        + ".",
    ),
    ("category", pa.string(), "Task category ('' when unknown)."),
    ("language", pa.string(), "Programming language of the battle ('' when unknown)."),
    ("environment", pa.string(), "Execution environment, e.g. interpreter, html."),
    ("sampling_prob", pa.float64(), "Probability the sampler drew this ordered pair."),
    ("tstamp", pa.float64(), "Vote time, Unix seconds (UTC); orders Elo."),
    ("vote_time", pa.string(), "Vote time, ISO 8601 UTC."),
    ("battle_tstamp", pa.float64(), "Battle start, Unix seconds (UTC)."),
    ("is_anonymous", pa.bool_(), "False once a model revealed its identity."),
    ("anonymity_note", pa.string(), "Why the battle is not anonymous ('' when it is)."),
    ("is_valid", pa.bool_(), "False when the vote was invalidated (it is kept, flagged)."),
    ("invalid_reason", pa.string(), "Why the vote was invalidated."),
    ("battle_status", pa.string(), "active, voted or void."),
    ("void_reason", pa.string(), "Why the battle was voided."),
    (
        "replay_of",
        pa.string(),
        "The battle this one re-served to another rater for inter-rater agreement ('' when "
        "none): same request and answers, so its vote is not a new sample.",
    ),
    ("replay_swapped", pa.bool_(), "The replay shows the original's side A as side B."),
    ("rater_id", pa.string(), "Pseudonymous rater: HMAC-SHA256(release secret, rater uuid)."),
)

FIELD_NAMES = tuple(name for name, _, _ in FIELDS)
NESTED_FIELDS = frozenset(
    name for name, kind, _ in FIELDS if pa.types.is_list(kind) or pa.types.is_struct(kind)
)
PARQUET_METADATA = {"schema": SCHEMA_ID, "row_order": "vote created_at, vote id"}


def arrow_schema() -> pa.Schema:
    return pa.schema([pa.field(name, kind) for name, kind, _ in FIELDS], metadata=PARQUET_METADATA)


def data_file_name(fmt: str) -> str:
    return f"{DATA_FILE_STEM}.{fmt}"
