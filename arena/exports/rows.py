"""Database -> schema rows, streamed: votes in chunks, each chunk's battles fetched in bulk.

Memory is bounded by one chunk: votes come from a server-side cursor
(`.iterator(chunk_size=...)`), and turns, responses, executions, artifacts and events
are loaded per chunk with one query each (`values_list`, no model instances, artifact
bytes never read, program output cut in the database). Only allow-listed fields leave
this module: no IP, e-mail, user name, worker host or raw rater id is ever selected
for output.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.db.models.functions import Length, Substr
from django.db.models.lookups import GreaterThan

from arena.battles.models import InteractionEvent, Response, Turn, Vote
from arena.exports.schema import ARENA_WINNER, EVENT_DATA_KEYS, OUTPUT_MAX_CHARS, SCHEMA_ID
from arena.exports.writers import dumps
from arena.runs.models import Artifact, Execution

CHUNK_SIZE = 1_000  # votes per bulk fetch: fewer round trips, memory still small

VOTE_FIELDS = (
    "pk",
    "battle_id",
    "winner",
    "feedback",
    "is_valid",
    "invalid_reason",
    "created_at",
    "rater__uuid",
    "rater__user__username",
    "rater__user__email",
    "battle__model_a__name",
    "battle__model_b__name",
    "battle__sampling_prob",
    "battle__is_anonymous",
    "battle__anonymity_note",
    "battle__category",
    "battle__language",
    "battle__environment",
    "battle__status",
    "battle__void_reason",
    "battle__created_at",
)


def pseudonym(secret: bytes, rater_uuid: uuid.UUID) -> str:
    """Stable within a release, unlinkable across releases (each has its own secret)."""
    return hmac.new(secret, rater_uuid.bytes, hashlib.sha256).hexdigest()


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


def iter_rows(
    votes: QuerySet[Vote], *, secret: bytes, chunk_size: int = CHUNK_SIZE
) -> Iterator[dict[str, Any]]:
    """Rows in `battle_rows()` order (vote created_at, pk): Elo replays in that order."""
    scrub = Scrubber.for_staff()
    cursor = (
        votes.order_by("created_at", "pk").values_list(*VOTE_FIELDS).iterator(chunk_size=chunk_size)
    )
    while chunk := list(islice(cursor, chunk_size)):
        details = BattleDetails.load({vote[1] for vote in chunk})
        for vote in chunk:
            yield _row(vote, details, secret, scrub)


def _row(
    vote: tuple[Any, ...], details: BattleDetails, secret: bytes, scrub: Scrubber
) -> dict[str, Any]:
    (
        pk,
        battle_id,
        winner,
        feedback,
        is_valid,
        invalid_reason,
        created_at,
        rater_uuid,
        username,
        email,
        model_a,
        model_b,
        sampling_prob,
        is_anonymous,
        anonymity_note,
        category,
        language,
        environment,
        battle_status,
        void_reason,
        battle_created_at,
    ) = vote
    turns = details.turns.get(battle_id, [])
    return {
        "schema": SCHEMA_ID,
        "vote_id": pk,
        "battle_id": str(battle_id),
        "conversation_a_id": str(uuid.uuid5(battle_id, "a")),
        "conversation_b_id": str(uuid.uuid5(battle_id, "b")),
        "model_a": model_a,
        "model_b": model_b,
        "winner": ARENA_WINNER[winner],
        "vote": winner,
        "feedback": _feedback(feedback),
        "turn": len(turns),
        "conversation_a": details.conversation(battle_id, "a"),
        "conversation_b": details.conversation(battle_id, "b"),
        "responses": details.responses.get(battle_id, []),
        "executions": details.executions.get(battle_id, []),
        "events": details.events.get(battle_id, []),
        "category": category,
        "language": language,
        "environment": environment,
        "sampling_prob": sampling_prob,
        "tstamp": created_at.timestamp(),
        "vote_time": _iso(created_at),
        "battle_tstamp": battle_created_at.timestamp(),
        "is_anonymous": is_anonymous,
        "anonymity_note": scrub(anonymity_note, username, email),
        "is_valid": is_valid,
        "invalid_reason": scrub(invalid_reason, username, email),
        "battle_status": battle_status,
        "void_reason": scrub(void_reason, username, email),
        "rater_id": pseudonym(secret, rater_uuid),
    }


def _feedback(feedback: Any) -> list[dict[str, str]]:
    if not isinstance(feedback, dict):
        return []
    return [{"dimension": str(k), "choice": str(v)} for k, v in sorted(feedback.items())]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class BattleDetails:
    """Turns, answers, runs and events of a set of battles, grouped by battle id."""

    def __init__(self) -> None:
        self.turns: dict[uuid.UUID, list[tuple[int, str]]] = defaultdict(list)
        self.texts: dict[tuple[uuid.UUID, int, str], str] = {}
        self.responses: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
        self.executions: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
        self.events: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
        self._where: dict[int, tuple[uuid.UUID, str, int]] = {}  # response id -> battle, side, turn

    @classmethod
    def load(cls, battle_ids: set[uuid.UUID]) -> BattleDetails:
        details = cls()
        ids = sorted(battle_ids)
        details._load_turns(ids)
        details._load_responses(ids)
        details._load_executions(ids)
        details._load_events(ids)
        return details

    def conversation(self, battle_id: uuid.UUID, side: str) -> list[dict[str, str]]:
        messages: list[dict[str, str]] = []
        for index, prompt in self.turns.get(battle_id, []):
            messages.append({"role": "user", "content": prompt})
            messages.append(
                {"role": "assistant", "content": self.texts.get((battle_id, index, side), "")}
            )
        return messages

    def _load_turns(self, ids: list[uuid.UUID]) -> None:
        rows = Turn.objects.filter(battle_id__in=ids).order_by("battle_id", "index")
        for battle_id, index, prompt in rows.values_list("battle_id", "index", "prompt"):
            self.turns[battle_id].append((index, prompt))

    def _load_responses(self, ids: list[uuid.UUID]) -> None:
        rows = (
            Response.objects.filter(turn__battle_id__in=ids)
            .order_by("turn__battle_id", "turn__index", "side")
            .values_list(
                "pk",
                "turn__battle_id",
                "turn__index",
                "side",
                "text",
                "status",
                "code",
                "code_language",
                "reasoning",
                "ttft_ms",
                "total_ms",
                "input_tokens",
                "output_tokens",
            )
        )
        for pk, battle_id, index, side, text, *rest in rows:
            self._where[pk] = (battle_id, side, index)
            self.texts[(battle_id, index, side)] = text
            status, code, code_language, reasoning, ttft, total, tokens_in, tokens_out = rest
            self.responses[battle_id].append(
                {
                    "side": side,
                    "turn": index,
                    "status": status,
                    "code": code,
                    "code_language": code_language,
                    "reasoning": reasoning,
                    "ttft_ms": ttft,
                    "total_ms": total,
                    "input_tokens": tokens_in,
                    "output_tokens": tokens_out,
                }
            )

    def _load_executions(self, ids: list[uuid.UUID]) -> None:
        # By response id (known from _load_responses): integers, and no join.
        response_ids = sorted(self._where)
        artifacts = _artifacts(response_ids)
        rows = (
            Execution.objects.filter(owner_type=_response_type(), owner_id__in=response_ids)
            .annotate(
                out=Substr("stdout", 1, OUTPUT_MAX_CHARS),
                err=Substr("stderr", 1, OUTPUT_MAX_CHARS),
                out_cut=GreaterThan(Length("stdout"), OUTPUT_MAX_CHARS),
                err_cut=GreaterThan(Length("stderr"), OUTPUT_MAX_CHARS),
            )
            .order_by("created_at", "pk")
            .values_list(
                "pk",
                "owner_id",
                "code",
                "language",
                "environment",
                "is_edited",
                "status",
                "exit_code",
                "signal",
                "wall_ms",
                "cpu_ms",
                "out",
                "err",
                "stdout_truncated",
                "stderr_truncated",
                "out_cut",
                "err_cut",
                "created_at",
            )
        )
        for row in rows:
            (
                pk,
                response_id,
                code,
                language,
                environment,
                is_edited,
                status,
                exit_code,
                signal,
                wall_ms,
                cpu_ms,
                out,
                err,
                out_trunc,
                err_trunc,
                out_cut,
                err_cut,
                created,
            ) = row
            battle_id, side, index = self._where[response_id]
            self.executions[battle_id].append(
                {
                    "side": side,
                    "turn": index,
                    "code": code,
                    "language": language,
                    "environment": environment,
                    "is_edited": is_edited,
                    "status": status,
                    "exit_code": exit_code,
                    "signal": signal,
                    "wall_ms": wall_ms,
                    "cpu_ms": cpu_ms,
                    "stdout": out,
                    "stderr": err,
                    "stdout_truncated": bool(out_trunc or out_cut),
                    "stderr_truncated": bool(err_trunc or err_cut),
                    "artifacts": artifacts.get(pk, []),
                    "tstamp": created.timestamp(),
                }
            )

    def _load_events(self, ids: list[uuid.UUID]) -> None:
        rows = InteractionEvent.objects.filter(battle_id__in=ids).order_by("created_at", "pk")
        for battle_id, response_id, kind, data, created in rows.values_list(
            "battle_id", "response_id", "kind", "data", "created_at"
        ):
            _, side, index = self._where.get(response_id, (None, None, None))
            self.events[battle_id].append(
                {
                    "kind": kind,
                    "side": side,
                    "turn": index,
                    "tstamp": created.timestamp(),
                    "data": dumps(safe_event_data(data)),
                }
            )


def safe_event_data(data: Any) -> dict[str, Any]:
    """Allow-listed keys with scalar values only (see schema.EVENT_DATA_KEYS)."""
    if not isinstance(data, dict):
        return {}
    return {
        key: data[key]
        for key in EVENT_DATA_KEYS
        if key in data and isinstance(data[key], bool | int | float | str)
    }


def _artifacts(response_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    by_execution: dict[int, list[dict[str, Any]]] = defaultdict(list)
    rows = Artifact.objects.filter(
        execution__owner_type=_response_type(), execution__owner_id__in=response_ids
    ).order_by("execution_id", "name", "pk")
    for execution_id, name, mime, size, sha256 in rows.values_list(
        "execution_id", "name", "mime", "size", "sha256"
    ):
        by_execution[execution_id].append(
            {"name": name, "mime": mime, "size": size, "sha256": sha256}
        )
    return by_execution


def _response_type() -> ContentType:
    """Executions of battle answers (runs can belong to other owners)."""
    return ContentType.objects.get_for_model(Response)
