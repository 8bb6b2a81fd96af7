"""How runs tell their owner that an execution changed (queued, output, finished).

Runs know nothing of their owners; an owner's app connects a receiver and does its own
business (battles broadcast to the battle page). Receivers get `execution`: `pk`,
`owner_type_id` and `owner_id` are always current, and the last signal of a run carries
the stored result. They must be cheap: live output sends one every
EXECUTION_FLUSH_SECONDS.
"""

from __future__ import annotations

from django.dispatch import Signal

execution_changed = Signal()
