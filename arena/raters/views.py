"""Optional accounts: sign up, sign in, sign out. Anonymous rating (the signed cookie)
stays the default; an account only lets a rater keep their votes across browsers. Signing
up or in from a browser that has rated makes that anonymous rater the account's."""

from __future__ import annotations

from django.contrib.auth import login
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.contrib.auth.models import User
from django.contrib.auth.views import LoginView
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from arena.edge import client_ip
from arena.raters.limits import Action, Limited, check_rate
from arena.raters.services import claim_anonymous_rater

AFTER_SIGN_IN = "arena-my-votes"


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(AFTER_SIGN_IN)
    # A username and a password twice (Django's validators); no e-mail is asked for.
    form: UserCreationForm[User] = UserCreationForm(request.POST or None)
    if request.method == "GET":
        return _signup_page(request, form)
    try:
        check_rate(Action.NEW_RATER, rater=None, ip=client_ip(request))  # an account is one
    except Limited as error:
        form.add_error(None, str(error))
        answer = _signup_page(request, form, status=429)
        answer["Retry-After"] = str(error.retry_after_s)
        return answer
    if not form.is_valid():
        return _signup_page(request, form, status=400)
    with transaction.atomic():
        user = form.save()
        claim_anonymous_rater(user, request.COOKIES)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect(AFTER_SIGN_IN)


def _signup_page(
    request: HttpRequest, form: UserCreationForm[User], *, status: int = 200
) -> HttpResponse:
    return render(request, "raters/signup.html", {"form": form}, status=status)


class SignInView(LoginView):
    """Django's sign-in (django-axes counts its failures as for the admin), and the
    browser's anonymous history goes to the account."""

    template_name = "raters/login.html"
    form_class = AuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        answer = super().form_valid(form)
        claim_anonymous_rater(form.get_user(), self.request.COOKIES)
        return answer

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=form), status=400)
