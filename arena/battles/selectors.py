"""What a battle page shows, read in a fixed number of queries, with the page's rules
decided here (templates only read them)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from django.conf import settings
from django.db.models import Prefetch, Q

from arena.battles.agreement import Agreement, agreement, fleiss_kappa, in_original_sides
from arena.battles.models import Battle, Response, Turn, Vote
from arena.battles.services import GateRow, rerun_refusal, vote_blocker_of
from arena.llms.providers.replay import replayed_prompt
from arena.raters.models import Rater
from arena.runs.models import Execution
from arena.vocabulary import WINNER_LABELS
from executors.environments import detect, run_targets, target_of
from executors.pages import PREVIEW_SANDBOX

# Past these sizes an answer scrolls in its own box and a request folds to its start;
# below them (a typical answer) both fit on a desktop screen above the runs.
ANSWER_FOLD_CHARS, ANSWER_FOLD_LINES = 1200, 24
PROMPT_FOLD_CHARS, PROMPT_FOLD_LINES = 300, 4


def rerun_message_id(response_id: int) -> str:
    return f"rerun-msg-{response_id}"


def battle_for_rater(battle_id: uuid.UUID | str, rater: Rater | None) -> Battle | None:
    """The battle if it is this rater's: battles are private to their rater until
    exported, and anyone else learns nothing, not even that it exists."""
    if rater is None:
        return None
    return Battle.objects.filter(pk=battle_id, rater=rater).first()


@dataclass(frozen=True)
class RunView:
    """One run of a side's program, named so the rater tells the answer's own run from
    their edits: "the answer's program (run 1)", "your edit (run 2)"."""

    execution: Execution
    number: int

    @property
    def label(self) -> str:
        if self.number == 1:
            return "the answer's program (run 1)"
        what = "your edit" if self.execution.is_edited else "re-run, code unchanged"
        return f"{what} (run {self.number})"


@dataclass(frozen=True)
class SideView:
    response: Response
    runs: list[Execution]  # oldest first: the answer's own run, then the rater's re-runs
    label: str  # "Model A" until the reveal, then the model's name
    can_rerun: bool  # the editor is shown

    @property
    def execution(self) -> Execution | None:
        """The latest run: what the editor starts from."""
        return self.runs[-1] if self.runs else None

    @property
    def first_run(self) -> RunView | None:
        """The run of the answer's program, shown under the answer it belongs to."""
        return RunView(self.runs[0], 1) if self.runs else None

    @property
    def latest_rerun(self) -> RunView | None:
        """The rater's latest re-run, shown directly under the editor."""
        return RunView(self.runs[-1], len(self.runs)) if len(self.runs) > 1 else None

    @property
    def earlier_reruns(self) -> list[RunView]:
        """The re-runs before the latest, newest first, folded away but reachable."""
        return [RunView(run, n) for n, run in enumerate(self.runs[1:-1], start=2)][::-1]

    @property
    def message_id(self) -> str:
        """Where a refusal of this side's re-run shows: beside its Run button."""
        return rerun_message_id(self.response.pk)

    @property
    def answer_is_long(self) -> bool:
        """A long answer scrolls in a box of its own, so the run under it stays in view."""
        text = self.response.text
        return len(text) > ANSWER_FOLD_CHARS or text.count("\n") > ANSWER_FOLD_LINES

    @property
    def editor_open(self) -> bool:
        """Once the rater has re-run, the editor stays open: they are iterating."""
        return len(self.runs) > 1

    @property
    def editor_code(self) -> str:
        """The code of the latest run (the rater's last edit), else the answer's program."""
        return self.execution.code if self.execution else self.response.code

    @property
    def editor_stdin(self) -> str:
        return self.execution.stdin if self.execution else ""

    @property
    def editor_packages(self) -> str:
        """The Python requirements of the latest run, as the rater edits them."""
        return " ".join(self.execution.packages) if self.execution else ""

    @property
    def editor_target(self) -> str:
        """The "Run as" choice of the latest run, else the one detected for the answer."""
        if self.execution:
            return target_of(self.execution.language, self.execution.environment)
        if not self.response.code_language:
            return ""
        return target_of(*detect(self.response.code_language, self.response.code))

    @property
    def is_streaming(self) -> bool:
        return self.response.status == Response.Status.STREAMING

    @property
    def is_done(self) -> bool:
        return self.response.status == Response.Status.DONE


@dataclass(frozen=True)
class TurnView:
    turn: Turn
    sides: list[SideView]
    demo_request: str = ""  # the recorded request both demo models replayed, if both are

    @property
    def prompt_is_long(self) -> bool:
        """A long request folds to its start, so the answers stay near the top."""
        prompt = self.turn.prompt
        return len(prompt) > PROMPT_FOLD_CHARS or prompt.count("\n") > PROMPT_FOLD_LINES


@dataclass(frozen=True)
class BattleView:
    battle: Battle
    turns: list[TurnView]
    vote: Vote | None
    vote_blocker: str
    revealed: bool

    vote_choices = list(WINNER_LABELS.items())
    run_choices = run_targets()
    preview_sandbox = PREVIEW_SANDBOX  # the frame's flags, the same as the page's own policy

    @property
    def can_vote(self) -> bool:
        return not self.vote_blocker

    @property
    def heartbeat_ms(self) -> int:
        """How often the open page says it is there: three times per RATER_GONE_SECONDS."""
        return max(1000, settings.RATER_GONE_SECONDS * 1000 // 3)

    @property
    def is_active(self) -> bool:
        return self.battle.status == Battle.Status.ACTIVE

    @property
    def can_follow_up(self) -> bool:
        last = self.turns[-1] if self.turns else None
        return (
            self.is_active
            and last is not None
            and all(side.response.is_finished for side in last.sides)
        )


def battle_view(battle_id: uuid.UUID | str) -> BattleView:
    executions = Execution.objects.prefetch_related("artifacts").order_by("created_at")
    responses = Response.objects.select_related("model").prefetch_related(
        Prefetch("executions", queryset=executions)
    )
    battle = Battle.objects.select_related("model_a", "model_b").get(pk=battle_id)
    turns = battle.turns.prefetch_related(Prefetch("responses", queryset=responses))
    revealed = battle.status != Battle.Status.ACTIVE
    turn_views = [
        TurnView(turn, [_side_view(battle, r, revealed) for r in turn.responses.all()])
        for turn in turns.order_by("index")
    ]
    if battle.model_a.is_demo and battle.model_b.is_demo:
        turn_views = _with_demo_requests(turn_views)
    vote = battle.votes.filter(is_valid=True).first()
    # The vote rule reads the same rows as the panes: the buttons and the run statuses
    # come from one reading, so one update can never enable one and not show the other.
    last_sides = turn_views[-1].sides if turn_views else []
    blocker = vote_blocker_of(battle, [_gate_row(side) for side in last_sides])
    return BattleView(battle, turn_views, vote, blocker, revealed)


def _with_demo_requests(turn_views: list[TurnView]) -> list[TurnView]:
    """Demo models answer the nearest recorded request, which may be far from what was
    asked: each turn names it, so the rater judges the answers knowing what they answer.
    The same for both sides (both models replay the same request), so it reveals no one."""
    prompts = [view.turn.prompt for view in turn_views]
    return [
        replace(view, demo_request=replayed_prompt(prompts[: i + 1]))
        for i, view in enumerate(turn_views)
    ]


def _gate_row(side: SideView) -> GateRow:
    running = any(not run.is_finished for run in side.runs)
    return GateRow(side.response.status, side.response.code, bool(side.runs), running)


def _side_view(battle: Battle, response: Response, revealed: bool) -> SideView:
    runs = list(response.executions.all())
    label = response.model.name if revealed else f"Model {response.side.upper()}"
    can_rerun = not rerun_refusal(battle, response)
    return SideView(response, runs, label, can_rerun)


# --- inter-rater agreement on replayed battles (admin) -------------------------------------


@dataclass(frozen=True)
class AgreementRow:
    """One measure of the report: a group of items and how far their raters agreed."""

    label: str
    agreement: Agreement
    kappa: float | None


@dataclass(frozen=True)
class AgreementReport:
    replays: int  # replay battles served
    replays_voted: int
    rows: list[AgreementRow]
    recent: list[tuple[Battle, list[str]]]  # originals with their votes, newest first


def agreement_report(recent: int = 20) -> AgreementReport:
    """Agreement between the raters of each replayed battle: every valid vote on the
    original and its replays, read in the original's sides. Beside the whole, the
    original-and-replay pairs split by whether the replay swapped the sides: agreement
    that drops when sides swap is position bias."""
    votes = Vote.objects.filter(is_valid=True).filter(
        Q(battle__replay_of__isnull=False) | Q(battle__replays__isnull=False)
    )
    rows = votes.distinct().values_list(
        "pk", "battle_id", "battle__replay_of_id", "battle__sides_swapped", "winner"
    )
    items: dict[uuid.UUID, list[str]] = {}
    originals: dict[uuid.UUID, str] = {}
    replay_votes: list[tuple[uuid.UUID, bool, str]] = []
    for _, battle_id, original_id, swapped, winner in rows:
        key = original_id or battle_id
        items.setdefault(key, []).append(in_original_sides(winner, swapped))
        if original_id is None:
            originals[battle_id] = winner
        else:
            replay_votes.append((original_id, swapped, in_original_sides(winner, swapped)))
    rows_out = [AgreementRow("all raters of a battle", *_measured(list(items.values())))]
    for swapped, label in ((False, "original and replay, same sides"), (True, "sides swapped")):
        pairs = [
            [originals[original], vote]
            for original, was_swapped, vote in replay_votes
            if was_swapped == swapped and original in originals
        ]
        rows_out.append(AgreementRow(label, *_measured(pairs)))
    replays = Battle.objects.filter(replay_of__isnull=False)
    shown = Battle.objects.filter(pk__in=list(items)).select_related("model_a", "model_b")
    return AgreementReport(
        replays=replays.count(),
        replays_voted=replays.filter(status=Battle.Status.VOTED).count(),
        rows=rows_out,
        recent=[(b, items[b.pk]) for b in shown.order_by("-created_at")[:recent]],
    )


def _measured(items: list[list[str]]) -> tuple[Agreement, float | None]:
    return agreement(items), fleiss_kappa(items)
