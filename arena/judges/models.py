from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from arena.battles.models import Battle
from arena.judges.judging import (
    BASELINES,
    EXECUTION_SUCCEEDED,
    LONGER_ANSWER,
    SEEDED_RANDOM,
    LlmPrompts,
    RewardEndpoint,
    parse_score_path,
)
from arena.judges.prompts import (
    DEFAULT_PROMPT_WITH_EXECUTION,
    DEFAULT_PROMPT_WITHOUT_EXECUTION,
    DEFAULT_SYSTEM_PROMPT,
    EVIDENCE_MODES,
    ORDERS,
    WITH_EXECUTION,
    template_problems,
)
from arena.judges.verdicts import Preference
from arena.llms.models import LanguageModel, ProviderFields, ProviderKind
from arena.llms.types import ModelSpec
from arena.runs.models import Execution
from arena.vocabulary import WINNER_LABELS


class Judge(ProviderFields):
    """An automatic judge: an LLM, a scalar reward model, or a rule that needs no model."""

    class Kind(models.TextChoices):
        LLM = "llm", "LLM judge"
        REWARD = "reward", "Reward model (HTTP scoring endpoint)"
        BASELINE = "baseline", "Baseline (no model)"

    class Rule(models.TextChoices):
        EXECUTION = EXECUTION_SUCCEEDED, "Execution succeeded"
        LONGER = LONGER_ANSWER, "Longer answer"
        RANDOM = SEEDED_RANDOM, "Random (seeded)"

    name = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    # LLM judges: a language model's provider fields (ProviderFields), which only LLM
    # judges need; `clean` asks an LLM judge for them.
    provider = models.CharField(max_length=20, choices=ProviderKind.choices, blank=True)
    model_id = models.CharField(
        max_length=200, blank=True, help_text="The provider's id for the model."
    )
    system_prompt = models.TextField(blank=True, help_text="Empty: the default judge prompt.")
    prompt_with_execution = models.TextField(
        blank=True,
        help_text="Needs {instruction}, {answer_a}, {answer_b}, {execution_a}, {execution_b}. "
        "Empty: the default.",
    )
    prompt_without_execution = models.TextField(
        blank=True, help_text="Needs {instruction}, {answer_a}, {answer_b}. Empty: the default."
    )
    send_screenshots = models.BooleanField(
        default=False,
        help_text="Send each page's screenshot with the execution evidence (OpenAI-compatible "
        "and Anthropic providers; the replay provider reads text only).",
    )
    input_usd_per_mtok = models.DecimalField(
        max_digits=10, decimal_places=4, default=0, help_text="Price per million input tokens."
    )
    output_usd_per_mtok = models.DecimalField(
        max_digits=10, decimal_places=4, default=0, help_text="Price per million output tokens."
    )
    # Reward models.
    endpoint_url = models.URLField(blank=True, help_text="POST one answer, get a score back.")
    request_template = models.JSONField(
        default=dict,
        blank=True,
        help_text="JSON body; strings may hold {instruction}, {answer}, {execution}, e.g. "
        '{"prompt": "{instruction}", "response": "{answer}"}.',
    )
    score_path = models.CharField(
        max_length=200, blank=True, help_text="Where the score is in the reply: score, data.0.score"
    )
    tie_margin = models.FloatField(default=0.0, help_text="Scores this close are a tie.")
    # Baselines.
    rule = models.CharField(max_length=30, choices=Rule.choices, blank=True)
    seed = models.IntegerField(default=42, help_text="For the random baseline.")
    # Dispatch.
    concurrency = models.PositiveSmallIntegerField(
        default=4, help_text="Judgements in flight at once in one run."
    )
    requests_per_minute = models.PositiveIntegerField(
        default=0, help_text="Calls a minute to this judge's endpoint per worker; 0: no limit."
    )
    timeout_s = models.FloatField(default=120.0, help_text="Per call.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        problems: dict[str, list[str]] = {}
        if self.kind == self.Kind.LLM:
            if not self.provider:
                problems["provider"] = ["an LLM judge needs a provider"]
            if not self.model_id:
                problems["model_id"] = ["an LLM judge needs the provider's model id"]
            for field, with_execution in (
                ("prompt_with_execution", True),
                ("prompt_without_execution", False),
            ):
                text = getattr(self, field)
                if text and template_problems(text, with_execution=with_execution):
                    problems[field] = template_problems(text, with_execution=with_execution)
        elif self.kind == self.Kind.REWARD:
            if not self.endpoint_url:
                problems["endpoint_url"] = ["a reward model needs its scoring endpoint"]
            if "{answer}" not in json.dumps(self.request_template):
                problems["request_template"] = ["the request template must contain {answer}"]
            try:
                parse_score_path(self.score_path)
            except ValueError as error:
                problems["score_path"] = [str(error)]
            if self.tie_margin < 0:
                problems["tie_margin"] = ["the tie margin cannot be negative"]
        elif self.kind == self.Kind.BASELINE and self.rule not in BASELINES:
            problems["rule"] = ["pick the baseline's rule"]
        if self.concurrency < 1:
            problems["concurrency"] = ["at least 1"]
        if problems:
            raise ValidationError(problems)

    def evidence_modes(self) -> tuple[str, ...]:
        """The execution-succeeded baseline reads the runs, so it has no blind mode."""
        if self.kind == self.Kind.BASELINE and self.rule == self.Rule.EXECUTION:
            return (WITH_EXECUTION,)
        return EVIDENCE_MODES

    def spec(self) -> ModelSpec:
        return self.provider_spec(self.name, timeout_s=self.timeout_s)

    def prompts(self) -> LlmPrompts:
        return LlmPrompts(
            system=self.system_prompt or DEFAULT_SYSTEM_PROMPT,
            with_execution=self.prompt_with_execution or DEFAULT_PROMPT_WITH_EXECUTION,
            without_execution=self.prompt_without_execution or DEFAULT_PROMPT_WITHOUT_EXECUTION,
        )

    def endpoint(self) -> RewardEndpoint:
        return RewardEndpoint(
            url=self.endpoint_url,
            request_template=self.request_template,
            score_path=self.score_path,
            tie_margin=self.tie_margin,
            api_key_env=self.api_key_env,
            timeout_s=self.timeout_s,
        )

    def rate_key(self) -> str:
        """Who is called: runs of judges sharing an endpoint share its rate limit."""
        if self.kind == self.Kind.LLM:
            return f"{self.provider}:{self.base_url or 'default'}"
        if self.kind == self.Kind.REWARD:
            return f"reward:{self.endpoint_url}"
        return f"baseline:{self.pk}"

    def cost_usd(self, input_tokens: int | None, output_tokens: int | None) -> float | None:
        if input_tokens is None and output_tokens is None:
            return None
        cost = (input_tokens or 0) * float(self.input_usd_per_mtok) + (output_tokens or 0) * float(
            self.output_usd_per_mtok
        )
        return cost / 1_000_000


class JudgeJob(models.Model):
    """A background job of a judge, as its pages show it: state, progress, who and when."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    class Modes(models.TextChoices):
        BOTH = "both", "With and without execution"
        WITH = "with", "With execution"
        WITHOUT = "without", "Without execution"

    # Each job declares its own judge and modes (their defaults and deletion rules differ).
    judge: Judge
    modes: str
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0, help_text="Judgements this run needs.")
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    claimed_by = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-pk"]

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.total:
            return 0
        return min(99, (self.done + self.failed) * 100 // self.total)

    def mode_list(self) -> tuple[str, ...]:
        """The evidence modes this job judges in, of those its judge supports."""
        wanted = EVIDENCE_MODES if self.modes == self.Modes.BOTH else (self.modes,)
        return tuple(mode for mode in wanted if mode in self.judge.evidence_modes())


class JudgingRun(JudgeJob):
    """A judge over a fixed set of battles (chosen when the run is created)."""

    judge = models.ForeignKey(Judge, on_delete=models.CASCADE, related_name="runs")
    modes = models.CharField(
        max_length=10, choices=JudgeJob.Modes.choices, default=JudgeJob.Modes.BOTH
    )
    selection = models.JSONField(default=dict, help_text="How the battles were chosen.")
    battle_ids = models.JSONField(default=list, help_text="The exact battle set, sorted.")
    battle_hash = models.CharField(max_length=64, help_text="sha256 of the sorted battle ids.")

    def __str__(self) -> str:
        return f"run {self.pk} of {self.judge} ({self.status})"


class Verdict(models.Model):
    """What one judgement records, whoever owns it (a battle's `Judgement`, an automatic
    arena's `AutoJudgement`): the claim, the verdict in the shown positions, `label`
    mapped back to the owner's sides, the raw text, and what the call cost."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"  # the call failed (timeout, server error); a later run retries

    judge = models.ForeignKey(Judge, on_delete=models.CASCADE, related_name="%(class)ss")
    order = models.CharField(max_length=2, choices=[(o, o) for o in ORDERS])
    evidence = models.CharField(max_length=10, choices=[(m, m) for m in EVIDENCE_MODES])
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    preference = models.CharField(
        max_length=10, blank=True, choices=[(p.value, p.value) for p in Preference]
    )
    label = models.CharField(max_length=10, blank=True, choices=WINNER_LABELS)
    is_parsed = models.BooleanField(default=False)
    parse_format = models.CharField(max_length=20, blank=True)
    parse_note = models.CharField(max_length=200, blank=True)
    raw_text = models.TextField(blank=True)
    score_a = models.FloatField(null=True, blank=True, help_text="Reward: the shown A's score.")
    score_b = models.FloatField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    input_tokens = models.PositiveIntegerField(null=True, blank=True)
    output_tokens = models.PositiveIntegerField(null=True, blank=True)
    cost_usd = models.FloatField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    claimed_by = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def judged_key(self) -> str:
        """What a seeded baseline hashes with the order: the judged item's id."""
        raise NotImplementedError


class Judgement(Verdict):
    """One judge's verdict on one battle, in one side order, with or without execution.

    Unique per (judge, battle, order, evidence): a rerun or a resumed job finds the row
    and leaves a finished one alone. `label` is in the battle's own sides; an answer with
    no verdict is DONE with `is_parsed` False and its raw text kept."""

    battle = models.ForeignKey(Battle, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["judge", "battle", "order", "evidence"]
        constraints = [
            models.UniqueConstraint(
                fields=["judge", "battle", "order", "evidence"], name="judgement_unique"
            ),
            models.CheckConstraint(
                condition=~Q(status="done", is_parsed=True, label=""),
                name="judgement_parsed_has_label",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.judge} on {self.battle} ({self.order}, {self.evidence})"

    def judged_key(self) -> str:
        return str(self.battle_id)


class JudgeReport(models.Model):
    """A judge's agreement with humans on one battle set, computed once and stored."""

    judge = models.ForeignKey(Judge, on_delete=models.CASCADE, related_name="reports")
    run = models.ForeignKey(
        JudgingRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    battle_ids = models.JSONField(default=list)
    battle_hash = models.CharField(max_length=64)
    computed_at = models.DateTimeField(default=timezone.now, db_index=True)
    data = models.JSONField(help_text="The report as reports.build_report returned it.")
    rows = models.JSONField(
        default=dict, help_text="Per evidence mode, the labelled rows the figures come from."
    )

    class Meta:
        ordering = ["-computed_at", "-pk"]

    def __str__(self) -> str:
        return f"report {self.pk} of {self.judge}"

    def mode(self, name: str) -> dict[str, Any] | None:
        modes: dict[str, Any] = self.data.get("modes", {})
        return modes.get(name)


# --- The automatic arena -----------------------------------------------------------------


class PromptSet(models.Model):
    """The requests an automatic arena asks every model (`load_prompt_set` fills one)."""

    name = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AutoPrompt(models.Model):
    prompt_set = models.ForeignKey(PromptSet, on_delete=models.CASCADE, related_name="prompts")
    slug = models.SlugField(max_length=100)
    prompt = models.TextField()
    category = models.CharField(max_length=50, blank=True)
    language = models.CharField(max_length=30, blank=True)

    class Meta:
        ordering = ["prompt_set", "slug"]
        constraints = [
            models.UniqueConstraint(fields=["prompt_set", "slug"], name="autoprompt_unique")
        ]

    def __str__(self) -> str:
        return self.slug


class AutoArenaRun(JudgeJob):
    """Models against a baseline model on a prompt set, judged by one judge.

    Answers and judgements are shared with every other run that needs the same ones
    (unique per prompt and model, and per judge, answer pair, order and evidence), so a
    rerun or a resumed run does only what is missing."""

    prompt_set = models.ForeignKey(PromptSet, on_delete=models.PROTECT, related_name="runs")
    judge = models.ForeignKey(Judge, on_delete=models.PROTECT, related_name="auto_runs")
    baseline = models.ForeignKey(LanguageModel, on_delete=models.PROTECT, related_name="+")
    candidates = models.ManyToManyField(LanguageModel, related_name="+")
    modes = models.CharField(
        max_length=10, choices=JudgeJob.Modes.choices, default=JudgeJob.Modes.WITH
    )
    stage = models.CharField(max_length=20, blank=True, help_text="What the job is doing.")
    board = models.JSONField(default=dict, blank=True, help_text="Per evidence mode, the board.")

    def __str__(self) -> str:
        return f"automatic arena {self.pk} on {self.prompt_set} ({self.status})"


class AutoAnswer(models.Model):
    """One model's answer to one prompt; its program's runs are `Execution`s it owns."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"  # the model call failed; a later run asks again

    prompt = models.ForeignKey(AutoPrompt, on_delete=models.CASCADE, related_name="answers")
    model = models.ForeignKey(LanguageModel, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    text = models.TextField(blank=True)
    code = models.TextField(blank=True)
    code_language = models.CharField(max_length=30, blank=True)
    environment = models.CharField(max_length=30, blank=True)
    error = models.CharField(max_length=500, blank=True)
    input_tokens = models.PositiveIntegerField(null=True, blank=True)
    output_tokens = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    claimed_by = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    executions = GenericRelation(
        Execution, content_type_field="owner_type", object_id_field="owner_id"
    )

    class Meta:
        ordering = ["prompt", "model"]
        constraints = [
            models.UniqueConstraint(fields=["prompt", "model"], name="autoanswer_unique")
        ]

    def __str__(self) -> str:
        return f"{self.model} on {self.prompt}"


class AutoJudgement(Verdict):
    """A judge's verdict on a model's answer against the baseline's answer to the same
    prompt. In order "ab" the model's answer is shown as A; `label` is in those sides:
    model_a is the model, model_b the baseline."""

    answer = models.ForeignKey(AutoAnswer, on_delete=models.CASCADE, related_name="judgements")
    baseline = models.ForeignKey(AutoAnswer, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["judge", "answer", "order", "evidence"]
        constraints = [
            models.UniqueConstraint(
                fields=["judge", "answer", "baseline", "order", "evidence"],
                name="autojudgement_unique",
            ),
            models.CheckConstraint(
                condition=~Q(status="done", is_parsed=True, label=""),
                name="autojudgement_parsed_has_label",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.judge} on {self.answer} ({self.order}, {self.evidence})"

    def judged_key(self) -> str:
        return f"auto:{self.answer_id}:{self.baseline_id}"
