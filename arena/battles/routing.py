from __future__ import annotations

from django.urls import path

from arena.battles.consumers import BattleConsumer

websocket_urlpatterns = [
    path("ws/battles/<uuid:battle_id>/", BattleConsumer.as_asgi()),
]
