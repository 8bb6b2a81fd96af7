"""Rate limits per rater and per network address, counted in the `limits` cache: Redis
in service mode (shared by every web process), the process's memory in embedded mode
(one process). A refusal is a `Limited` error with a message for the rater and the
seconds until the window turns; views answer it with 429.

Counts are fixed windows of `RaterLimits.window_minutes`: cheap (one atomic increment per
counter), and a rater who keeps within the rates is never refused."""

from __future__ import annotations

import ipaddress
import logging
import time
from dataclasses import dataclass
from enum import StrEnum

from django.core.cache import caches

from arena.raters.models import Rater, RaterLimits

CACHE = "limits"
log = logging.getLogger(__name__)


class Action(StrEnum):
    BATTLE = "battle"
    NEW_RATER = "new_rater"
    VOTE = "vote"
    RUN = "run"


@dataclass(frozen=True)
class Rule:
    per_rater: str  # the RaterLimits field, "" when the action has no per-rater rate
    per_ip: str
    what: str  # for the message: "new battles"


RULES = {
    Action.BATTLE: Rule("battles_per_rater", "battles_per_ip", "new battles"),
    Action.NEW_RATER: Rule("", "new_raters_per_ip", "new raters"),
    Action.VOTE: Rule("votes_per_rater", "votes_per_ip", "votes"),
    Action.RUN: Rule("runs_per_rater", "runs_per_ip", "runs of edited code"),
}


class Limited(Exception):
    """Refused for going too fast or too far. The message is shown to the rater as is."""

    def __init__(self, message: str, retry_after_s: int = 60) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def network_of(ip: str) -> str:
    """The counted address: IPv6 clients hold a whole /64, so it counts as one. Anything
    that is not an address (a forwarded-for hop a client wrote, when more proxies are
    declared than stand in front) counts in one shared bucket: junk cannot mint fresh
    counters to slip past a per-address limit."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return "not-an-address"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _count(key: str, window_s: int) -> tuple[int, int]:
    """Count one more in this window; the count and the seconds the window has left."""
    now = int(time.time())
    slot = now // window_s
    cache = caches[CACHE]
    full_key = f"limit:{key}:{slot}"
    cache.add(full_key, 0, timeout=window_s + 5)
    try:
        count = cache.incr(full_key)
    except ValueError:  # expired between add and incr: this is the first in a new window
        cache.add(full_key, 1, timeout=window_s + 5)
        count = 1
    return count, (slot + 1) * window_s - now


def check_rate(action: Action, *, rater: Rater | None, ip: str) -> None:
    """Count this action for the rater (when known) and the address; refuse past a limit."""
    limits = RaterLimits.current()
    rule = RULES[action]
    window_s = max(1, limits.window_minutes) * 60
    counters = [(f"{action}:ip:{network_of(ip)}", getattr(limits, rule.per_ip))]
    if rater is not None and rule.per_rater:
        counters.append((f"{action}:rater:{rater.pk}", getattr(limits, rule.per_rater)))
    for key, limit in counters:
        if not limit:
            continue
        try:
            count, left_s = _count(key, window_s)
        except Exception as error:  # the limits cache is down (a Redis restart): a short
            # spell without rate limits beats refusing every rater; caps still hold
            log.warning("rate limits not counted, the limits cache failed: %s", error)
            return
        if count > limit:
            raise Limited(
                f"You are going fast: at most {limit} {rule.what} per {limits.window_minutes} "
                f"minutes{' from one address' if ':ip:' in key else ''}. "
                f"Please try again in {_duration(left_s)}.",
                retry_after_s=left_s,
            )


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{round(seconds / 60)} minutes"
