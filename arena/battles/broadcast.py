"""Tell open battle pages that something changed. The message carries no state:
the consumer re-reads the database, so a dropped message heals with the next one."""

from __future__ import annotations

import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


def battle_group(battle_id: uuid.UUID | str) -> str:
    return f"battle-{battle_id}"


def battle_changed(battle_id: uuid.UUID | str) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(battle_group(battle_id), {"type": "battle.changed"})
