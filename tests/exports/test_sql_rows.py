"""PostgreSQL writes each row's JSON itself (`sql_rows`); Python builds it elsewhere
(`rows`). The two must give the same bytes for every value the schema can hold, and the
parallel reader must give the same rows, in order, from one snapshot."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model

from arena.battles.models import Battle, InteractionEvent, Response, Turn, Vote
from arena.exports import rows, sql_rows
from arena.exports.schema import OUTPUT_MAX_CHARS
from arena.llms.models import LanguageModel
from arena.raters.models import Rater
from arena.runs.models import Artifact, Execution, PreviewEvent
from tests.exports.conftest import SECRET, T0

# Strings JSON encoders disagree on: quotes, backslashes, every control character, DEL,
# the line ends str.splitlines() splits on, non-BMP characters, text that looks like JSON.
AWKWARD = (
    'quote " backslash \\ slash / tab \t nl \n cr \r ff \f bs \b nul-free \x01\x1f '
    'del \x7f nel \x85 ls \u2028 ps \u2029 é 中文 emoji 🎉 {"a":1} \\u2028'
)

SHORT = 'q" b\\ t\t \u2028 é🎉'  # for fields of 50 characters or fewer


def python_lines(votes: object) -> list[str]:
    return [line for line, _ in rows.iter_lines(votes, secret=SECRET)]  # type: ignore[arg-type]


def sql_lines(votes: object, **tuning: int) -> list[str]:
    exporter = sql_rows.Exporter(votes, secret=SECRET)  # type: ignore[arg-type]
    for name, value in tuning.items():
        setattr(exporter, name, value)
    return [line for line, _ in exporter.lines(expected=len(python_lines(votes)))]


@pytest.fixture
def awkward_votes(
    alice: Rater,
    make_vote: Callable[..., Vote],
    make_battle: Callable[..., Battle],
    make_model: Callable[..., LanguageModel],
) -> list[Vote]:
    user = get_user_model().objects.create_user("voter-name", "voter@example.org", "pw")
    voter = Rater.objects.create(user=user)
    get_user_model().objects.create_user("staffer", "staff@example.org", "pw", is_staff=True)
    votes = []
    # Odd microseconds, an integral second, a probability of 1 and one printed with an exponent.
    for minutes, prob in [(0.000017, 1.0), (1, 1e-05), (2.5, 1 / 3)]:
        votes.append(make_vote(voter, minutes=minutes, sampling_prob=prob, category=SHORT))
    Battle.objects.filter(pk=votes[1].battle_id).update(model_a=make_model(name=SHORT))
    first = votes[0]
    battle = first.battle
    Vote.objects.filter(pk=first.pk).update(
        feedback={"zeta": "model_a", "alpha": AWKWARD, "émoji": "tie"},
        is_valid=False,
        invalid_reason="by staffer in admin: voter@example.org from 10.0.0.1 (voter-name)",
    )
    Battle.objects.filter(pk=battle.pk).update(
        is_anonymous=False,
        anonymity_note=f"model said its name {AWKWARD}",
        void_reason="2001:db8::1 reported",
        language="",
        environment="html",
    )
    second = Turn.objects.create(battle=battle, index=1, prompt=AWKWARD)
    Response.objects.create(  # side b never answered the second turn
        turn=second,
        side="a",
        model=battle.model_a,
        status="error",
        text=AWKWARD,
        reasoning=AWKWARD,
        code="",
        ttft_ms=None,
        total_ms=7,
        input_tokens=3,
        output_tokens=None,
    )
    answer = battle.turns.get(index=0).responses.get(side="b")
    run = Execution.objects.create(
        owner=answer,
        code=AWKWARD,
        language="python",
        status="runtime_error",
        exit_code=None,
        signal=9,
        stdout="é" * (OUTPUT_MAX_CHARS + 1),  # cut by the export, in characters
        stderr=AWKWARD,
        stderr_truncated=True,  # cut by the sandbox
        wall_ms=12,
        created_at=T0 + timedelta(microseconds=123457),
    )
    Execution.objects.create(owner=answer, code="print(1)", language="python", is_edited=True)
    for name in ["b.txt", "a.png"]:
        Artifact.objects.create(
            execution=run, name=name, mime="text/plain", size=1, sha256="0" * 64
        )
    for offset, data in enumerate(
        [
            {"width": 800, "height": 600.5, "x": 1.50, "y": -0.0001, "target": AWKWARD},
            {"key": "Enter", "typing": False, "line": None, "directive": ["nested"], "text": "x"},
            {"truncated": True, "width": 12345678901234567890},
            {},
        ]
    ):
        PreviewEvent.objects.create(
            execution=run,
            kind="click",
            data=data,
            received_at=T0 + timedelta(seconds=offset, microseconds=999999),
            client_at=None if offset % 2 else T0 + timedelta(microseconds=1),
        )
    for response, data in [
        (answer, {"edited": True, "language": AWKWARD, "language_overridden": 1.25}),
        (None, {"edited": None, "other": "secret"}),
    ]:
        InteractionEvent.objects.create(
            battle=battle, response=response, kind="rerun", data=data, created_at=T0
        )
    replay = make_battle(alice, runs=False, replay_of=battle, sides_swapped=True)
    votes.append(Vote.objects.create(battle=replay, rater=alice, winner="tie", created_at=T0))
    return votes


@pytest.mark.django_db
def test_postgresql_writes_the_bytes_python_writes(awkward_votes: list[Vote]) -> None:
    votes = Vote.objects.all()
    expected = python_lines(votes)
    assert len(expected) == 4
    assert sql_lines(votes) == expected


@pytest.mark.django_db
def test_filters_select_the_same_votes_on_both_paths(awkward_votes: list[Vote]) -> None:
    votes = Vote.objects.filter(is_valid=True, battle__sampling_prob__lt=1)
    assert len(python_lines(votes)) == 3
    assert sql_lines(votes) == python_lines(votes)


@pytest.mark.django_db(transaction=True)
def test_the_parallel_reader_gives_every_row_once_in_order(
    alice: Rater, make_vote: Callable[..., Vote]
) -> None:
    # Ties on the vote time across chunk boundaries: the order is (time, id) exactly.
    for n in range(23):
        make_vote(alice, minutes=n // 4, winner=["model_a", "tie"][n % 2])
    votes = Vote.objects.all()
    expected = python_lines(votes)
    for chunk in (1, 3, 4, 22, 23, 50):
        got = sql_lines(votes, CHUNK_VOTES=chunk, PARALLEL_MIN_VOTES=0)
        assert got == expected, f"chunks of {chunk}"


@pytest.mark.django_db(transaction=True)
def test_the_parallel_reader_reads_one_snapshot(
    alice: Rater, make_vote: Callable[..., Vote]
) -> None:
    """A vote stored while an export runs is not in it, even within a chunk not yet read."""
    for n in range(12):
        make_vote(alice, minutes=n)
    exporter = sql_rows.Exporter(Vote.objects.all(), secret=SECRET)
    exporter.CHUNK_VOTES, exporter.PARALLEL_MIN_VOTES, exporter.WORKERS = 2, 0, 1
    lines = exporter.lines(expected=12)
    first = list(itertools.islice(lines, 1))  # the snapshot is taken, chunk one read
    late = make_vote(alice, minutes=9.5)  # inside a chunk not read yet
    rest = list(lines)
    assert len(first) + len(rest) == 12
    assert not any(f'"vote_id":{late.pk},' in line for line in first + rest)
