"""ASGI entry point: HTTP through Django, websockets through Channels."""

from __future__ import annotations

import logging
import os
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.utils import timezone

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "arena.settings")
django_asgi_app = get_asgi_application()  # before importing consumers: it sets Django up

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from arena import jobs  # noqa: E402
from arena.battles.routing import websocket_urlpatterns  # noqa: E402
from arena.edge import SameOriginWebsockets  # noqa: E402
from arena.runs import live_apps  # noqa: E402
from arena.runs.app_proxy import AppRouter  # noqa: E402

log = logging.getLogger(__name__)

Scope = dict[str, Any]


class EmbeddedJobs:
    """In embedded mode jobs run beside the server: on the first ASGI call, learn the
    server's event loop and fail whatever a previous run of this process left running."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.ready = False

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if not self.ready:
            self.ready = True
            if settings.JOBS_MODE == "inline":  # Celery workers recover their own rows
                jobs.remember_server_loop()
                await sync_to_async(_recover)()
        await self.app(scope, receive, send)


def _recover() -> None:
    jobs.recover_orphans(jobs.worker_name(), timezone.now())  # no request served yet
    # Jobs queued in the previous life of this process died with its thread pool.
    jobs.requeue_waiting(older_than_s=0)
    live_apps.warm_up()  # this process runs the app sandboxes: have spares ready


# Server apps on the preview origin (/a/<token>/, HTTP and websockets) go to the app
# proxy before anything of the arena sees them.
application = EmbeddedJobs(
    AppRouter(
        ProtocolTypeRouter(
            {
                "http": django_asgi_app,
                "websocket": SameOriginWebsockets(
                    AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
                ),
            }
        )
    )
)
