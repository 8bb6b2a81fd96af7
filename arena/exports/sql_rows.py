"""Database -> schema rows on PostgreSQL: each row's JSON text is built by the database.

`rows.py` builds a row as Python dicts, ~300 µs of CPU per vote, most of it Python per
value (psycopg and Django iterating ~7 rows per vote, ~60 dict entries, the encoder).
Here one query returns, per vote, the row's JSON text in the very bytes `rows.py` +
`writers.dumps` give (compact, fixed key order, `ensure_ascii=False`; a test holds the
two to identical bytes on PostgreSQL), cut around the few values Python still fills:
the two conversation ids (uuid5 needs SHA-1, which PostgreSQL has only with pgcrypto),
the feedback list (`rows._feedback` turns any JSON into strings with Python's `str`),
the three free-text reasons (scrubbed by `rows.Scrubber`'s regular expressions) and the
rater's pseudonym (an HMAC with the release secret, which must not be sent to the
database). Python then joins a dozen strings per vote.

How PostgreSQL's JSON text matches Python's `json.dumps` (checked by the test):
- strings: `to_json(text)` escapes `"`, `\\`, `\\b \\f \\n \\r \\t` and other control
  characters as `\\u00xx`, as Python does, and leaves other characters as they are;
  U+0085, U+2028 and U+2029 are escaped afterwards on the whole line, as `dumps` does;
- floats: PostgreSQL prints the shortest text that reads back as the same double, as
  Python's `repr`; Python adds `.0` to an integral value, so `_float` does too (the two
  differ in exponent notation only from 1e15 up, far from any timestamp or probability);
- timestamps: `extract(epoch ...)` is exact (numeric), then rounded once to a double, as
  Python's `datetime.timestamp()`; vote times via `to_char` in UTC.
- the allow-listed event data: a JSON object rebuilt key by key in the allow-list's order,
  scalars only; numbers written with a point are floats in Python (`1.50` -> `1.5`).
"""

from __future__ import annotations

import json
import re
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet

from arena.battles.models import Response, Vote
from arena.exports.card import RowFacts
from arena.exports.rows import RATER_CACHE, Scrubber, conversation_id, feedback_json, pseudonym
from arena.exports.schema import (
    ARENA_WINNER,
    EVENT_DATA_KEYS,
    OUTPUT_MAX_CHARS,
    PREVIEW_EVENT_DATA_KEYS,
    SCHEMA_ID,
)
from arena.exports.writers import escape_line_ends

FETCH_ROWS = 2_000  # rows per round trip from the server-side cursor
# Floats as the shortest text that reads back the same (PostgreSQL's default since 12; a
# server configured otherwise would round them to 15 digits). No JIT: the planner's cost
# of a large export passes jit_above_cost, and compiling the query's ~140 expressions
# took 4 s of a 50k-vote read while running them compiled saved less than that. The
# final ORDER BY sorts built rows (~7 KB a vote): a chunk's sort fits in 32 MB, where
# the default 4 MB spilled every chunk to disk (~10% of the database's time).
SESSION = "SET extra_float_digits = 1; SET jit = off; SET work_mem = '32MB'"
SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9A-F]+)?")  # pg_export_snapshot()


# --- JSON text in SQL: each helper returns an SQL expression whose value is JSON text -------


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _str(column: str) -> str:
    return f"coalesce(to_json({column}::text)::text, 'null')"


def _int(column: str) -> str:
    return f"coalesce({column}::text, 'null')"


def _bool(column: str) -> str:
    return f"coalesce({column}::text, 'null')"  # PostgreSQL prints booleans as true/false


def _float(value: str) -> str:
    """Python's repr of a double: PostgreSQL's shortest text, `.0` added when integral."""
    number = f"({value})::float8"
    return (
        f"coalesce(CASE WHEN {number} = trunc({number}) THEN {number}::text || '.0' "
        f"ELSE {number}::text END, 'null')"
    )


def _epoch(column: str) -> str:
    """Unix seconds as Python's `datetime.timestamp()`: date_part divides the exact count
    of microseconds by 1e6 in floating point once, as Python does (extract() would give
    the same through a slower numeric)."""
    return _float(f"date_part('epoch', {column})")


def _object(*members: tuple[str, str]) -> str:
    """`{"key":value,...}` from (key, JSON-text expression) pairs, keys in this order."""
    parts = []
    for position, (key, value) in enumerate(members):
        parts.append(_literal(("{" if position == 0 else ",") + json.dumps(key) + ":"))
        parts.append(value)
    return "(" + " || ".join([*parts, "'}'"]) + ")"


def _array(element: str, source: str, order: str) -> str:
    """`[...]` of `element` over the rows of `source` (a FROM ... WHERE clause), in order."""
    elements = f"string_agg({element}, ',' ORDER BY {order})"
    return f"coalesce((SELECT '[' || {elements} || ']' {source}), '[]')"


def _escape_line_ends(text: str) -> str:
    """What `writers.dumps` does to a JSON text, for JSON nested in a JSON string."""
    for char in ("\x85", "\u2028", "\u2029"):
        text = f"replace({text}, U&'\\{ord(char):04x}', '\\u{ord(char):04x}')"
    return text


def _allowed_data(column: str, keys: Sequence[str]) -> str:
    """`dumps(rows._allowed(data, keys))` as a JSON string: the scalar values of `keys`,
    in that order. A jsonb number with a point is a float in Python, printed by repr."""
    members = []
    for key in keys:
        value = f"({column} -> {_literal(key)})"
        prefix = _literal(json.dumps(key) + ":")
        text, kind = f"{value}::text", f"jsonb_typeof({value})"
        number = f"CASE WHEN {text} ~ '[.]' THEN {_float(text)} ELSE {text} END"
        members.append(
            f"CASE WHEN {kind} IN ('string', 'boolean') THEN {prefix} || {text} "
            f"WHEN {kind} = 'number' THEN {prefix} || {number} END"
        )
    # concat_ws leaves out the NULLs: the keys absent or not scalar.
    inner = "('{' || concat_ws(',', " + ", ".join(members) + ") || '}')"
    return f"to_json({_escape_line_ends(inner)})::text"


# --- the query ----------------------------------------------------------------------------

_PREVIEW_EVENT = _object(
    ("kind", _str("pe.kind")),
    ("tstamp", _epoch("pe.received_at")),
    ("client_tstamp", _epoch("pe.client_at")),
    ("data", _allowed_data("pe.data", PREVIEW_EVENT_DATA_KEYS)),
)
_ARTIFACT = _object(
    ("name", _str("ar.name")),
    ("mime", _str("ar.mime")),
    ("size", _int("ar.size")),
    ("sha256", _str("ar.sha256")),
)
_EXECUTION = _object(
    ("side", _str("r.side")),
    ("turn", _int("t.index")),
    ("code", _str("e.code")),
    ("language", _str("e.language")),
    ("environment", _str("e.environment")),
    ("is_edited", _bool("e.is_edited")),
    ("status", _str("e.status")),
    ("exit_code", _int("e.exit_code")),
    ("signal", _int("e.signal")),
    ("wall_ms", _int("e.wall_ms")),
    ("cpu_ms", _int("e.cpu_ms")),
    ("stdout", _str(f"substr(e.stdout, 1, {OUTPUT_MAX_CHARS})")),
    ("stderr", _str(f"substr(e.stderr, 1, {OUTPUT_MAX_CHARS})")),
    ("stdout_truncated", _bool(f"(e.stdout_truncated OR length(e.stdout) > {OUTPUT_MAX_CHARS})")),
    ("stderr_truncated", _bool(f"(e.stderr_truncated OR length(e.stderr) > {OUTPUT_MAX_CHARS})")),
    (
        "artifacts",
        _array(_ARTIFACT, "FROM runs_artifact ar WHERE ar.execution_id = e.id", "ar.name, ar.id"),
    ),
    (
        "preview_events",
        _array(
            _PREVIEW_EVENT,
            "FROM runs_previewevent pe WHERE pe.execution_id = e.id",
            "pe.received_at, pe.id",
        ),
    ),
    ("tstamp", _epoch("e.created_at")),
)


def _response(r: str) -> str:
    """An answer's JSON object, `r` the alias of its battles_response row."""
    return _object(
        ("side", _str(f"{r}.side")),
        ("turn", _int("t.index")),
        ("status", _str(f"{r}.status")),
        ("code", _str(f"{r}.code")),
        ("code_language", _str(f"{r}.code_language")),
        ("reasoning", _str(f"{r}.reasoning")),
        ("ttft_ms", _int(f"{r}.ttft_ms")),
        ("total_ms", _int(f"{r}.total_ms")),
        ("input_tokens", _int(f"{r}.input_tokens")),
        ("output_tokens", _int(f"{r}.output_tokens")),
    )


_EVENT = _object(
    ("kind", _str("ev.kind")),
    ("side", _str("er.side")),
    ("turn", _int("et.index")),
    ("tstamp", _epoch("ev.created_at")),
    ("data", _allowed_data("ev.data", EVENT_DATA_KEYS)),
)


def _turns() -> str:
    """A LATERAL over the battle's turns and their two answers: the turn count, both
    conversations and the answers, in one pass (one index scan, not four)."""
    user = '\'{"role":"user","content":\' || to_json(t.prompt)::text || \'}\''

    def assistant(side: str) -> str:
        return (
            f'\'{{"role":"assistant","content":\' || '
            f"coalesce(to_json(r{side}.text)::text, '\"\"') || '}}'"
        )

    def response(side: str) -> str:  # NULL when the side has no answer in that turn
        return f"CASE WHEN r{side}.id IS NOT NULL THEN {_response(f'r{side}')} END"

    def listed(element: str) -> str:  # `[...]` over the turns in order
        return f"'[' || coalesce(string_agg({element}, ',' ORDER BY t.index), '') || ']'"

    # Within a turn side a before b, as ordered by rows.py; a turn with no answer adds none.
    answers = f"NULLIF(concat_ws(',', {response('a')}, {response('b')}), '')"
    return f"""LEFT JOIN LATERAL (
  SELECT count(*) AS turns,
    {listed(f"u.message || ',' || {assistant('a')}")} AS conversation_a,
    {listed(f"u.message || ',' || {assistant('b')}")} AS conversation_b,
    {listed(answers)} AS responses
  FROM battles_turn t
  LEFT JOIN battles_response ra ON ra.turn_id = t.id AND ra.side = 'a'
  LEFT JOIN battles_response rb ON rb.turn_id = t.id AND rb.side = 'b'
  CROSS JOIN LATERAL (SELECT {user} AS message) u
  WHERE t.battle_id = b.id
) turns ON true"""


# `rows._iso`: ISO 8601 in UTC to the microsecond, with a Z.
_ISO_UTC = """'"' || to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '"'"""

_WINNER = (
    "CASE v.winner "
    + " ".join(
        f"WHEN {_literal(vote)} THEN {_literal(json.dumps(arena))}"
        for vote, arena in ARENA_WINNER.items()
    )
    + " END"
)

# From "model_a" to "is_anonymous", after the feedback Python fills in.
_BODY = " || ".join(
    [
        _literal(',"turn":'),
        "turns.turns::text",
        _literal(',"conversation_a":'),
        "turns.conversation_a",
        _literal(',"conversation_b":'),
        "turns.conversation_b",
        _literal(',"responses":'),
        "turns.responses",
        _literal(',"executions":'),
        _array(
            _EXECUTION,
            "FROM runs_execution e JOIN battles_response r ON r.id = e.owner_id "
            "JOIN battles_turn t ON t.id = r.turn_id "
            "WHERE e.owner_type_id = %(response_type)s AND t.battle_id = b.id",
            "e.created_at, e.id",
        ),
        _literal(',"events":'),
        _array(
            _EVENT,
            "FROM battles_interactionevent ev LEFT JOIN battles_response er "
            "ON er.id = ev.response_id LEFT JOIN battles_turn et ON et.id = er.turn_id "
            "WHERE ev.battle_id = b.id",
            "ev.created_at, ev.id",
        ),
        _literal(',"category":'),
        _str("b.category"),
        _literal(',"language":'),
        _str("b.language"),
        _literal(',"environment":'),
        _str("b.environment"),
        _literal(',"sampling_prob":'),
        _float("b.sampling_prob"),
        _literal(',"tstamp":'),
        _epoch("v.created_at"),
        _literal(',"vote_time":'),
        _ISO_UTC.format("v.created_at"),
        _literal(',"battle_tstamp":'),
        _epoch("b.created_at"),
        _literal(',"is_anonymous":'),
        _bool("b.is_anonymous"),
    ]
)


class SqlRecord(NamedTuple):
    """One vote as the query returns it: JSON pieces, what Python fills in, the facts."""

    # Ids and feedback come as text: psycopg's uuid and jsonb loaders are Python code
    # (~12 µs a row together); text is decoded in C and parsed only when needed.
    vote_id: int
    battle_id: str
    rater_uuid: str
    voter_name: str | None  # only to scrub the voter's own name from reasons
    voter_email: str | None
    head: str  # from "model_a" to "vote"
    feedback: str  # JSON text
    body: str  # from "turn" to "is_anonymous"
    anonymity_note: str
    is_valid: bool
    invalid_reason: str
    battle_status: str  # JSON text
    void_reason: str
    tail: str  # "replay_of" and "replay_swapped"
    tstamp: float
    winner: str
    model_a: str
    model_b: str
    category: str
    language: str
    environment: str
    is_anonymous: bool


_QUERY = f"""
SELECT v.id, v.battle_id::text, rater.uuid::text, voter.%(user_name)s, voter.%(user_email)s,
  ',"model_a":' || to_json(ma.name)::text || ',"model_b":' || to_json(mb.name)::text
    || ',"winner":' || {_WINNER} || ',"vote":' || to_json(v.winner::text)::text,
  v.feedback::text,
  {_BODY},
  b.anonymity_note, v.is_valid, v.invalid_reason, to_json(b.status::text)::text, b.void_reason,
  ',"replay_of":' || to_json(coalesce(b.replay_of_id::text, ''))::text
    || ',"replay_swapped":' || b.sides_swapped::text,
  date_part('epoch', v.created_at), v.winner, ma.name, mb.name,
  b.category, b.language, b.environment, b.is_anonymous
FROM battles_vote v
JOIN battles_battle b ON b.id = v.battle_id
JOIN llms_languagemodel ma ON ma.id = b.model_a_id
JOIN llms_languagemodel mb ON mb.id = b.model_b_id
JOIN raters_rater rater ON rater.id = v.rater_id
LEFT JOIN %(users)s voter ON voter.%(user_pk)s = rater.user_id
{_turns()}
WHERE v.id IN (%(votes)s) %(bounds)s
ORDER BY v.created_at, v.id
"""


class Exporter:
    """Reads the rows of `votes`, in order, from one database snapshot.

    Large exports are read by `WORKERS` connections at once, a chunk of `CHUNK_VOTES`
    votes each, since PostgreSQL builds a query's rows on one core: every connection
    imports the snapshot of a coordinating transaction (`pg_export_snapshot`, as
    `pg_dump --jobs` does), so the chunks fit together as one consistent read however
    many votes arrive meanwhile. Memory is bounded by the chunks in flight.
    """

    WORKERS = 2  # the cores of the machines this runs on; PostgreSQL's work is the cost
    CHUNK_VOTES = 1_000
    PARALLEL_MIN_VOTES = 20_000  # below it a snapshot and threads cost more than they save

    def __init__(self, votes: QuerySet[Vote], *, secret: bytes) -> None:
        self.votes = votes
        self._scrub = Scrubber.for_staff()
        self._rater_id = lru_cache(maxsize=RATER_CACHE)(
            lambda rater: pseudonym(secret, uuid.UUID(rater))
        )
        user = get_user_model()
        users, quote = user._meta, connection.ops.quote_name
        # Names and the content type are the project's own (quoted, an integer); the
        # filters' SQL keeps its parameters for the driver.
        self._query = (
            _QUERY.replace(
                "%(response_type)s", str(int(ContentType.objects.get_for_model(Response).pk))
            )
            .replace("%(users)s", quote(users.db_table))
            .replace("%(user_pk)s", quote(_column(user, users.pk.name)))
            .replace("%(user_name)s", quote(_column(user, user.USERNAME_FIELD)))
            .replace("%(user_email)s", quote(_column(user, user.get_email_field_name())))
        )

    def lines(self, *, expected: int) -> Iterator[tuple[str, RowFacts]]:
        """(row as JSON text, its facts for the card), in `battle_rows()` order.
        `expected` (the caller's count) picks one connection or several."""
        if expected < self.PARALLEL_MIN_VOTES:
            yield from self._serial()
        else:
            yield from self._parallel()

    def _sql(self, votes: QuerySet[Vote], bounds: str = "") -> tuple[str, tuple[Any, ...]]:
        selected, params = votes.order_by().values("pk").query.sql_with_params()
        return self._query.replace("%(votes)s", selected).replace("%(bounds)s", bounds), params

    def _serial(self) -> Iterator[tuple[str, RowFacts]]:
        sql, params = self._sql(self.votes)
        with connection.cursor() as cursor:
            cursor.execute(SESSION)
        with connection.chunked_cursor() as cursor:  # server-side: one snapshot
            cursor.execute(sql, params)
            while records := cursor.fetchmany(FETCH_ROWS):
                yield from self._made(records)

    def _made(self, records: Sequence[Sequence[Any]]) -> Iterator[tuple[str, RowFacts]]:
        for values in records:
            record = SqlRecord._make(values)
            yield _line(record, self._rater_id, self._scrub), _facts(record)

    def _parallel(self) -> Iterator[tuple[str, RowFacts]]:
        coordinator = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            with coordinator.cursor() as cursor:
                cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                cursor.execute("SELECT pg_export_snapshot()")
                snapshot = cursor.fetchone()[0]
                if not SNAPSHOT_ID.fullmatch(snapshot):  # it goes into SQL as a literal
                    raise RuntimeError(f"unexpected snapshot id {snapshot!r}")
                starts = self._chunk_starts(cursor)
            chunks = list(zip(starts, [*starts[1:], None], strict=True))
            with ThreadPoolExecutor(self.WORKERS, thread_name_prefix="export") as pool:
                pending: deque[Future[list[tuple[str, RowFacts]]]] = deque()
                for chunk in chunks:
                    pending.append(pool.submit(self._read_chunk, snapshot, *chunk))
                    if len(pending) > self.WORKERS:  # bounded: at most WORKERS + 1 chunks held
                        yield from pending.popleft().result()
                while pending:
                    yield from pending.popleft().result()
        finally:
            _end(coordinator)

    def _chunk_starts(self, cursor: Any) -> list[tuple[datetime, int]]:
        """The (created_at, id) of every CHUNK_VOTES-th vote in export order."""
        selected, params = self.votes.order_by().values("pk").query.sql_with_params()
        cursor.execute(
            "SELECT created_at, id FROM (SELECT v.created_at, v.id, row_number() OVER "
            "(ORDER BY v.created_at, v.id) AS n FROM battles_vote v "
            f"WHERE v.id IN ({selected})) numbered WHERE (n - 1) %% %s = 0 ORDER BY created_at, id",
            (*params, self.CHUNK_VOTES),
        )
        return [tuple(row) for row in cursor.fetchall()]

    def _read_chunk(
        self, snapshot: str, start: tuple[datetime, int], end: tuple[datetime, int] | None
    ) -> list[tuple[str, RowFacts]]:
        # The filters again, narrowed to the chunk's time range so that PostgreSQL reads
        # the chunk's votes by the created_at index; the row comparison cuts ties exactly.
        votes = self.votes.filter(created_at__gte=start[0])
        bounds = "AND (v.created_at, v.id) >= (%s, %s)"
        extra: tuple[Any, ...] = start
        if end is not None:
            votes = votes.filter(created_at__lte=end[0])
            bounds += " AND (v.created_at, v.id) < (%s, %s)"
            extra = (*start, *end)
        sql, params = self._sql(votes, bounds)
        reader = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            with reader.cursor() as cursor:
                cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                # SET takes no bound parameters; the id was checked against SNAPSHOT_ID.
                cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                cursor.execute(SESSION)
                cursor.execute(sql, (*params, *extra))
                return list(self._made(cursor.fetchall()))
        finally:
            _end(reader)


def _column(model: type[Model], field: str) -> str:
    """The column of one of the model's own fields (the user model may be the project's)."""
    column = model._meta.get_field(field).column  # type: ignore[union-attr]
    assert isinstance(column, str)
    return column


def _end(reader: BaseDatabaseWrapper) -> None:
    """End a reading connection's transaction (read only: a rollback loses nothing) and
    close it. A connection broken meanwhile is closed all the same."""
    with suppress(DatabaseError), reader.cursor() as cursor:
        cursor.execute("ROLLBACK")
    reader.close()


def _line(record: SqlRecord, rater_id: Callable[[str], str], scrub: Scrubber) -> str:
    battle = record.battle_id
    battle_bytes = bytes.fromhex(battle.replace("-", ""))
    voter = (record.voter_name, record.voter_email)
    line = "".join(
        (
            f'{{"schema":"{SCHEMA_ID}","vote_id":{record.vote_id},"battle_id":"{battle}",',
            f'"conversation_a_id":"{conversation_id(battle_bytes, "a")}",',
            f'"conversation_b_id":"{conversation_id(battle_bytes, "b")}"',
            record.head,
            ',"feedback":',
            feedback_json(record.feedback),
            record.body,
            ',"anonymity_note":',
            _reason(scrub(record.anonymity_note, *voter)),
            ',"is_valid":',
            "true" if record.is_valid else "false",
            ',"invalid_reason":',
            _reason(scrub(record.invalid_reason, *voter)),
            ',"battle_status":',
            record.battle_status,
            ',"void_reason":',
            _reason(scrub(record.void_reason, *voter)),
            record.tail,
            f',"rater_id":"{rater_id(record.rater_uuid)}"}}',
        )
    )
    return escape_line_ends(line)


def _reason(text: str) -> str:
    return json.dumps(text, ensure_ascii=False) if text else '""'


def _facts(record: SqlRecord) -> RowFacts:
    return RowFacts(
        is_valid=record.is_valid,
        is_anonymous=record.is_anonymous,
        tstamp=record.tstamp,
        winner=ARENA_WINNER[record.winner],
        model_a=record.model_a,
        model_b=record.model_b,
        category=record.category,
        language=record.language,
        environment=record.environment,
    )
