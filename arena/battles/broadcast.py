"""Tell open battle pages that something changed. The message carries no state:
the consumer re-reads the database, so a dropped message heals with the next one."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.contenttypes.models import ContentType

from arena.battles.models import Response
from arena.runs.models import Execution

log = logging.getLogger(__name__)


def battle_group(battle_id: uuid.UUID | str) -> str:
    return f"battle-{battle_id}"


def battle_changed(battle_id: uuid.UUID | str) -> None:
    """Never raises: a message the channel layer cannot take (Redis restarting) is one
    the page does without, as with any dropped message; the next one heals it."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(battle_group(battle_id), {"type": "battle.changed"})
    except Exception as error:
        log.warning("could not tell battle %s pages of a change: %s", battle_id, error)


def execution_changed(execution: Execution, **_: Any) -> None:
    """Receiver of runs' `execution_changed`: an answer's run changed, so its battle did."""
    if execution.owner_type_id != _response_type_id():
        return  # not a battle's run
    battle_id = (
        Response.objects.filter(pk=execution.owner_id).values_list("turn__battle_id", flat=True)
    ).first()
    if battle_id is not None:
        battle_changed(battle_id)


def _response_type_id() -> int:
    # ContentType caches per process, so this costs no query after the first call.
    return ContentType.objects.get_for_model(Response).pk
