"""Database -> schema rows, streamed: votes in chunks, each chunk's battles fetched in bulk.

Memory is bounded by one chunk: votes come from a server-side cursor
(`.iterator(chunk_size=...)`), and turns, responses, executions, artifacts and events
are loaded per chunk with one query each (`values_list`, no model instances, artifact
bytes never read, program output cut in the database). Each query selects the fields of
one `*Record` and reads them back by name, never by position. Only allow-listed fields
leave this module: no IP, e-mail, user name, worker host or raw rater id is output (the
voter's user name and e-mail are read only to scrub them out of reasons).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from functools import lru_cache, partial
from itertools import islice
from typing import Any, NamedTuple, TypeVar

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import BooleanField, F, Q, QuerySet, TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Length, Substr
from django.db.models.lookups import GreaterThan

from arena.battles.models import InteractionEvent, Response, Turn, Vote
from arena.exports.card import RowFacts
from arena.exports.schema import (
    ARENA_WINNER,
    EVENT_DATA_KEYS,
    OUTPUT_MAX_CHARS,
    PREVIEW_EVENT_DATA_KEYS,
    SCHEMA_ID,
)
from arena.exports.writers import dumps, row_line
from arena.runs.models import Artifact, Execution, PreviewEvent

CHUNK_SIZE = 1_000  # votes per bulk fetch: fewer round trips, memory still small
RATER_CACHE = 16_384  # pseudonyms kept (~4 MB)

Record = TypeVar("Record", bound=NamedTuple)


class VoteRecord(NamedTuple):
    """What is read per vote. Field names are the ORM paths selected (see `select`);
    times are annotated as text (see `_moment`)."""

    pk: int
    battle_id: uuid.UUID
    winner: str
    feedback: Any
    is_valid: bool
    invalid_reason: str
    created: str
    rater__uuid: uuid.UUID
    rater__user__username: str | None  # only to scrub the voter's own name from reasons
    rater__user__email: str | None  # likewise
    battle__model_a__name: str
    battle__model_b__name: str
    battle__sampling_prob: float
    battle__is_anonymous: bool
    battle__anonymity_note: str
    battle__category: str
    battle__language: str
    battle__environment: str
    battle__status: str
    battle__void_reason: str
    battle__replay_of_id: uuid.UUID | None
    battle__sides_swapped: bool
    battle_created: str


class TurnRecord(NamedTuple):
    battle_id: uuid.UUID
    turn_index: int  # annotated: a NamedTuple field cannot be called `index`
    prompt: str


class ResponseRecord(NamedTuple):
    pk: int
    turn__battle_id: uuid.UUID
    turn__index: int
    side: str
    text: str
    status: str
    code: str
    code_language: str
    reasoning: str
    ttft_ms: int | None
    total_ms: int | None
    input_tokens: int | None
    output_tokens: int | None


class ExecutionRecord(NamedTuple):
    pk: int
    owner_id: int  # the Response (the query selects battle answers' runs only)
    code: str
    language: str
    environment: str
    is_edited: bool
    status: str
    exit_code: int | None
    signal: int | None
    wall_ms: int | None
    cpu_ms: int | None
    out: str  # stdout, cut in the database (annotated)
    err: str  # stderr, likewise
    stdout_truncated: bool  # cut by the sandbox
    stderr_truncated: bool
    out_cut: bool  # cut by the export (annotated)
    err_cut: bool
    created: str


class EventRecord(NamedTuple):
    battle_id: uuid.UUID
    response_id: int | None
    kind: str
    data: Any
    created: str


class ArtifactRecord(NamedTuple):
    execution_id: int
    name: str
    mime: str
    size: int
    sha256: str


class PreviewEventRecord(NamedTuple):
    execution_id: int
    kind: str
    data: Any
    received: str
    client: str | None


def select(
    queryset: QuerySet[Any], record: type[Record], *, chunk_size: int | None = None
) -> Iterator[Record]:
    """The rows of `queryset` as `record`s. The query selects exactly the record's fields,
    in the record's order, so a value cannot land in another field's place."""
    rows = queryset.values_list(*record._fields)
    if chunk_size is None:
        return map(record._make, rows)
    return map(record._make, rows.iterator(chunk_size=chunk_size))  # server-side cursor


def pseudonym(secret: bytes, rater_uuid: uuid.UUID) -> str:
    """Stable within a release, unlinkable across releases (each has its own secret)."""
    return hmac.new(secret, rater_uuid.bytes, hashlib.sha256).hexdigest()


def conversation_id(battle: bytes, side: str) -> str:
    """str(uuid.uuid5(UUID(bytes=battle), side)) from the battle id's 16 bytes, without
    building two UUID objects per call."""
    digest = bytearray(hashlib.sha1(battle + side.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def as_text(field: str) -> Cast:
    """A timestamp selected as text, for `_moment`: psycopg's loader of Django's
    time-zone-aware timestamps is Python code, datetime.fromisoformat is C."""
    return Cast(field, TextField())


def _moment(text: str) -> datetime:
    """PostgreSQL's `2026-01-01 00:00:01.5+00` (the connection's time zone is UTC), or
    SQLite's naive UTC text."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _among(column: tuple[str, str], lookup: str, values: Sequence[Any]) -> Q | RawSQL:
    """`lookup IN values`; on PostgreSQL `table.column = ANY(%s)` with one array
    parameter: an IN list of a chunk's thousand ids cost Django and psycopg more time
    than the query took PostgreSQL. `column` is (table, column) as the query aliases it."""
    if not values or connection.vendor != "postgresql":
        return Q(**{f"{lookup}__in": list(values)})
    table, name = column
    # As one array literal: psycopg dumps a Python list element by element in Python.
    kind = "uuid" if isinstance(values[0], uuid.UUID) else "bigint"
    literal = "{" + ",".join(map(str, values)) + "}"
    return RawSQL(
        f'"{table}"."{name}" = ANY(%s::{kind}[])', (literal,), output_field=BooleanField()
    )


class Scrubber:
    """Redacts e-mail and IP addresses and known user names from free-text reasons.

    Reasons are written by code and admins ("invalidated by <admin> in admin"), so they
    can name people; prompts and answers are rater content and are published as is.
    """

    EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
    IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
    IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
    ADMIN = re.compile(r"\bby \S+ in admin\b")

    def __init__(self, names: Sequence[str]) -> None:
        self._names = sorted({n for n in names if len(n) >= 3}, key=len, reverse=True)

    @classmethod
    def for_staff(cls) -> Scrubber:
        users = get_user_model().objects.filter(is_staff=True) | get_user_model().objects.filter(
            is_superuser=True
        )
        return cls([name for user in users for name in (user.get_username(), user.email)])

    def __call__(self, text: str, *extra_names: str | None) -> str:
        if not text:
            return text
        text = self.ADMIN.sub("by an admin in admin", text)
        text = self.EMAIL.sub("[email]", text)
        text = self.IPV4.sub("[ip]", self.IPV6.sub("[ip]", text))
        for name in [*(n for n in extra_names if n and len(n) >= 3), *self._names]:
            text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", "[user]", text)
        return text


def iter_lines(votes: QuerySet[Vote], *, secret: bytes) -> Iterator[tuple[str, RowFacts]]:
    """(row as JSON text, its facts for the card), as `sql_rows.Exporter.lines` gives them."""
    for row in iter_rows(votes, secret=secret):
        yield row_line(row), RowFacts.of(row)


def iter_rows(
    votes: QuerySet[Vote], *, secret: bytes, chunk_size: int = CHUNK_SIZE
) -> Iterator[dict[str, Any]]:
    """Rows in `battle_rows()` order (vote created_at, pk): Elo replays in that order."""
    scrub = Scrubber.for_staff()
    # One HMAC per rater, not per vote (raters vote many times); bounded, so memory
    # stays flat however many raters there are.
    rater_id = lru_cache(maxsize=RATER_CACHE)(partial(pseudonym, secret))
    ordered = votes.order_by("created_at", "pk").annotate(
        created=as_text("created_at"), battle_created=as_text("battle__created_at")
    )
    cursor = select(ordered, VoteRecord, chunk_size=chunk_size)
    while chunk := list(islice(cursor, chunk_size)):
        details = BattleDetails.load({vote.battle_id for vote in chunk})
        for vote in chunk:
            yield _row(vote, details, rater_id, scrub)


def _row(
    vote: VoteRecord, details: BattleDetails, rater_id: Callable[[uuid.UUID], str], scrub: Scrubber
) -> dict[str, Any]:
    battle_id = vote.battle_id
    key = battle_id.int
    voter = (vote.rater__user__username, vote.rater__user__email)
    created = _moment(vote.created)
    return {
        "schema": SCHEMA_ID,
        "vote_id": vote.pk,
        "battle_id": str(battle_id),
        "conversation_a_id": conversation_id(battle_id.bytes, "a"),
        "conversation_b_id": conversation_id(battle_id.bytes, "b"),
        "model_a": vote.battle__model_a__name,
        "model_b": vote.battle__model_b__name,
        "winner": ARENA_WINNER[vote.winner],
        "vote": vote.winner,
        "feedback": _feedback(vote.feedback),
        "turn": len(details.turns.get(key, [])),
        "conversation_a": details.conversation(key, "a"),
        "conversation_b": details.conversation(key, "b"),
        "responses": details.responses.get(key, []),
        "executions": details.executions.get(key, []),
        "events": details.events.get(key, []),
        "category": vote.battle__category,
        "language": vote.battle__language,
        "environment": vote.battle__environment,
        "sampling_prob": vote.battle__sampling_prob,
        "tstamp": created.timestamp(),
        "vote_time": _iso(created),
        "battle_tstamp": _moment(vote.battle_created).timestamp(),
        "is_anonymous": vote.battle__is_anonymous,
        "anonymity_note": scrub(vote.battle__anonymity_note, *voter),
        "is_valid": vote.is_valid,
        "invalid_reason": scrub(vote.invalid_reason, *voter),
        "battle_status": vote.battle__status,
        "void_reason": scrub(vote.battle__void_reason, *voter),
        "replay_of": str(vote.battle__replay_of_id) if vote.battle__replay_of_id else "",
        "replay_swapped": vote.battle__sides_swapped,
        "rater_id": rater_id(vote.rater__uuid),
    }


def _feedback(feedback: Any) -> list[dict[str, str]]:
    if not isinstance(feedback, dict):
        return []
    return [{"dimension": str(k), "choice": str(v)} for k, v in sorted(feedback.items())]


def feedback_json(stored: Any) -> str:
    """The `feedback` field's JSON text from the column as the database driver gives it
    (JSON text, or already decoded)."""
    if stored in ("{}", {}):  # nearly every vote: no per-dimension answers
        return "[]"
    return dumps(_feedback(json.loads(stored) if isinstance(stored, str) else stored))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class BattleDetails:
    """Turns, answers, runs (with their preview telemetry) and events of a set of
    battles, grouped by battle: keyed by `battle_id.int`, since hashing and comparing
    UUID objects is Python code (several dict look-ups per row)."""

    def __init__(self) -> None:
        self.turns: dict[int, list[tuple[int, str]]] = defaultdict(list)
        self.texts: dict[tuple[int, int, str], str] = {}
        self.responses: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.executions: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.events: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self._where: dict[int, tuple[int, str, int]] = {}  # response id -> battle, side, turn
        self._previews: dict[int, list[dict[str, Any]]] = {}  # execution id -> its telemetry

    @classmethod
    def load(cls, battle_ids: set[uuid.UUID]) -> BattleDetails:
        details = cls()
        ids = sorted(battle_ids)
        details._load_turns(ids)
        details._load_responses(ids)
        details._load_executions()
        details._load_preview_events()
        details._load_events(ids)
        return details

    def conversation(self, key: int, side: str) -> list[dict[str, str]]:
        messages: list[dict[str, str]] = []
        for index, prompt in self.turns.get(key, []):
            messages.append({"role": "user", "content": prompt})
            messages.append(
                {"role": "assistant", "content": self.texts.get((key, index, side), "")}
            )
        return messages

    def _load_turns(self, ids: list[uuid.UUID]) -> None:
        rows = (
            Turn.objects.filter(_among(("battles_turn", "battle_id"), "battle_id", ids))
            .order_by("battle_id", "index")
            .annotate(turn_index=F("index"))
        )
        for turn in select(rows, TurnRecord):
            self.turns[turn.battle_id.int].append((turn.turn_index, turn.prompt))

    def _load_responses(self, ids: list[uuid.UUID]) -> None:
        rows = Response.objects.filter(
            _among(("battles_turn", "battle_id"), "turn__battle_id", ids)
        ).order_by("turn__battle_id", "turn__index", "side")
        for response in select(rows, ResponseRecord):
            key, index, side = response.turn__battle_id.int, response.turn__index, response.side
            self._where[response.pk] = (key, side, index)
            self.texts[(key, index, side)] = response.text
            self.responses[key].append(
                {
                    "side": side,
                    "turn": index,
                    "status": response.status,
                    "code": response.code,
                    "code_language": response.code_language,
                    "reasoning": response.reasoning,
                    "ttft_ms": response.ttft_ms,
                    "total_ms": response.total_ms,
                    "input_tokens": response.input_tokens,
                    "output_tokens": response.output_tokens,
                }
            )

    def _load_executions(self) -> None:
        # By response id (known from _load_responses): integers, and no join.
        response_ids = sorted(self._where)
        artifacts = _artifacts(response_ids)
        rows = (
            Execution.objects.filter(
                _among(("runs_execution", "owner_id"), "owner_id", response_ids),
                owner_type=_response_type(),
            )
            .annotate(
                out=Substr("stdout", 1, OUTPUT_MAX_CHARS),
                err=Substr("stderr", 1, OUTPUT_MAX_CHARS),
                out_cut=GreaterThan(Length("stdout"), OUTPUT_MAX_CHARS),
                err_cut=GreaterThan(Length("stderr"), OUTPUT_MAX_CHARS),
                created=as_text("created_at"),
            )
            .order_by("created_at", "pk")
        )
        for run in select(rows, ExecutionRecord):
            key, side, index = self._where[run.owner_id]
            previews = self._previews[run.pk] = []  # filled by _load_preview_events
            self.executions[key].append(
                {
                    "side": side,
                    "turn": index,
                    "code": run.code,
                    "language": run.language,
                    "environment": run.environment,
                    "is_edited": run.is_edited,
                    "status": run.status,
                    "exit_code": run.exit_code,
                    "signal": run.signal,
                    "wall_ms": run.wall_ms,
                    "cpu_ms": run.cpu_ms,
                    "stdout": run.out,
                    "stderr": run.err,
                    "stdout_truncated": bool(run.stdout_truncated or run.out_cut),
                    "stderr_truncated": bool(run.stderr_truncated or run.err_cut),
                    "artifacts": artifacts.get(run.pk, []),
                    "preview_events": previews,
                    "tstamp": _moment(run.created).timestamp(),
                }
            )

    def _load_preview_events(self) -> None:
        execution_ids = sorted(self._previews)
        rows = (
            PreviewEvent.objects.filter(
                _among(("runs_previewevent", "execution_id"), "execution_id", execution_ids)
            )
            .annotate(received=as_text("received_at"), client=as_text("client_at"))
            .order_by("execution_id", "received_at", "pk")
        )
        for event in select(rows, PreviewEventRecord):
            self._previews[event.execution_id].append(
                {
                    "kind": event.kind,
                    "tstamp": _moment(event.received).timestamp(),
                    "client_tstamp": _moment(event.client).timestamp() if event.client else None,
                    "data": dumps(_allowed(event.data, PREVIEW_EVENT_DATA_KEYS)),
                }
            )

    def _load_events(self, ids: list[uuid.UUID]) -> None:
        rows = (
            InteractionEvent.objects.filter(
                _among(("battles_interactionevent", "battle_id"), "battle_id", ids)
            )
            .annotate(created=as_text("created_at"))
            .order_by("created_at", "pk")
        )
        for event in select(rows, EventRecord):
            where = self._where.get(event.response_id) if event.response_id else None
            _, side, index = where or (None, None, None)  # battle-level events have no side
            self.events[event.battle_id.int].append(
                {
                    "kind": event.kind,
                    "side": side,
                    "turn": index,
                    "tstamp": _moment(event.created).timestamp(),
                    "data": dumps(safe_event_data(event.data)),
                }
            )


def safe_event_data(data: Any) -> dict[str, Any]:
    """Allow-listed keys with scalar values only (see schema.EVENT_DATA_KEYS)."""
    return _allowed(data, EVENT_DATA_KEYS)


def _allowed(data: Any, keys: Sequence[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        return {}
    return {
        key: data[key]
        for key in keys
        if key in data and isinstance(data[key], bool | int | float | str)
    }


def _artifacts(response_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    by_execution: dict[int, list[dict[str, Any]]] = defaultdict(list)
    rows = Artifact.objects.filter(
        _among(("runs_execution", "owner_id"), "execution__owner_id", response_ids),
        execution__owner_type=_response_type(),
    ).order_by("execution_id", "name", "pk")
    for artifact in select(rows, ArtifactRecord):
        by_execution[artifact.execution_id].append(
            {
                "name": artifact.name,
                "mime": artifact.mime,
                "size": artifact.size,
                "sha256": artifact.sha256,
            }
        )
    return by_execution


def _response_type() -> ContentType:
    """Executions of battle answers (runs can belong to other owners)."""
    return ContentType.objects.get_for_model(Response)
