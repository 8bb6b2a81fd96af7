"""What battles tell the apps above them, which battles do not know."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside the vote's transaction with `vote`; receivers that start work enqueue it,
# so it starts after commit (jobs.enqueue waits for the commit).
vote_recorded = Signal()
