from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic.base import RedirectView

from arena import observability
from arena.battles import views as battles
from arena.raters import views as raters

urlpatterns = [
    path("", battles.home, name="arena-home"),
    path("battles/new", battles.battle_new, name="arena-battle-new"),
    path("votes/", battles.my_votes, name="arena-my-votes"),
    path("account/signup", raters.signup, name="arena-signup"),
    path("account/login", raters.SignInView.as_view(), name="arena-login"),
    path("account/logout", LogoutView.as_view(), name="arena-logout"),
    path("battles/<uuid:battle_id>/", battles.battle_detail, name="arena-battle"),
    path("battles/<uuid:battle_id>/vote", battles.battle_vote, name="arena-battle-vote"),
    path("battles/<uuid:battle_id>/turns", battles.battle_follow_up, name="arena-battle-follow-up"),
    path(
        "battles/<uuid:battle_id>/artifacts/<int:artifact_id>",
        battles.run_artifact,
        name="arena-run-artifact",
    ),
    path(
        "battles/<uuid:battle_id>/responses/<int:response_id>/run",
        battles.battle_rerun,
        name="arena-response-rerun",
    ),
    path("", include("arena.ratings.urls")),
    path("", include("arena.exports.urls")),
    path("", include("arena.judges.urls")),
    path("admin/", admin.site.urls),
    # Browsers and tools ask for /favicon.ico whatever the page links: send them the icon.
    path("favicon.ico", RedirectView.as_view(url=static("arena/favicon.svg"), permanent=True)),
    path("healthz", observability.healthz, name="arena-healthz"),
    path("metrics", observability.metrics_view, name="arena-metrics"),
]
