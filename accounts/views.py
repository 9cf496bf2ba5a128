"""Pages of the accounts app: the API token pages (your tokens, a new one shown once, revoking
one); the lockout page, the leaders' lockout list and the password pages.

Every token page answer carries `Cache-Control: no-store` (never_cache): the page that shows a
new key must not be kept by a browser or a proxy, and the list is no one else's business either.
"""

from __future__ import annotations

from typing import Any

from axes.helpers import get_client_username
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts import selectors, services
from accounts.forms import ApiTokenForm, ResetRequestForm, UnlockForm
from accounts.lockout import client_address
from accounts.models import ApiToken
from accounts.selectors import api_tokens_of
from accounts.services import api_token_create, api_token_revoke
from portfolio.htmx import redirect_after_post, render_page
from portfolio.pages import GET_POST, post_data, require_leader_page, submit_form


@never_cache
@GET_POST
def api_tokens(request: HttpRequest) -> HttpResponse:
    """List your tokens; a POST makes one and shows its key, this once."""
    form = ApiTokenForm(post_data(request))
    made, status = submit_form(
        request, form, lambda f: api_token_create(actor=request.user, **f.cleaned_data)
    )
    new_token, new_key = made if made else (None, None)
    if made:
        form = ApiTokenForm()
    context = {
        "tokens": api_tokens_of(user=request.user),
        "form": form,
        "new_token": new_token,
        "new_key": new_key,
        "now": timezone.now(),
    }
    return render_page(request, "accounts/api_tokens.html", context, status=status)


@never_cache
@GET_POST
def api_token_revoke_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask before revoking; the POST revokes (your own token, or anyone's for a leader)."""
    token = get_object_or_404(ApiToken.objects.editable_by(request.user), pk=pk)
    if request.method == "POST":
        api_token_revoke(actor=request.user, token_id=token.pk)
        messages.success(request, f"The token “{token.name}” was revoked; it no longer works.")
        return redirect_after_post(request, reverse("account-tokens"))
    return render_page(request, "accounts/api_token_revoke.html", {"token": token})


@login_not_required
@never_cache
def locked_out(request: HttpRequest, original_response: Any = None, credentials: Any = None):
    """The answer to a sign-in refused by a lockout (django-axes' AXES_LOCKOUT_CALLABLE): 429,
    when it ends and whom to ask. Said the same whether or not the username exists."""
    username = get_client_username(request, credentials)
    ends_at = selectors.lockout_of(username=username, ip_address=client_address(request))
    context = {
        "ends_at": ends_at,
        "minutes": int(selectors.cool_off().total_seconds() // 60),
        "contact": settings.LOCKOUT_CONTACT,
    }
    response = render(request, "registration/locked_out.html", context, status=429)
    if ends_at is not None:
        response["Retry-After"] = str(max(1, int((ends_at - timezone.now()).total_seconds())))
    return response


@require_GET
def lockout_list(request: HttpRequest) -> HttpResponse:
    """Leaders: the sign-ins locked out now, each with its Unlock button."""
    require_leader_page(request)
    return _list_page(request, UnlockForm(), status=200)


@require_POST
def lockout_unlock(request: HttpRequest) -> HttpResponse:
    require_leader_page(request)
    form = UnlockForm(request.POST)
    removed, status = submit_form(
        request,
        form,
        lambda f: services.lockout_unlock(
            actor=request.user,
            username=f.cleaned_data["username"],
            ip_address=f.cleaned_data["ip_address"],
        ),
    )
    if status != 200:
        return _list_page(request, form, status=status)
    who = " from ".join(
        part for part in (form.cleaned_data["username"], form.cleaned_data["ip_address"]) if part
    )
    if removed:
        messages.success(request, f"Unlocked {who}: signing in works again at once.")
    else:
        messages.info(request, f"{who} was no longer locked out.")
    return redirect_after_post(request, reverse("lockout-list"))


def _list_page(request: HttpRequest, form: UnlockForm, *, status: int) -> HttpResponse:
    context = {
        "lockouts": selectors.current_lockouts(),
        "form": form,
        "limit": selectors.failure_limit(),
        "minutes": int(selectors.cool_off().total_seconds() // 60),
    }
    return render_page(request, "accounts/lockout_list.html", context, status=status)


class PasswordResetView(auth_views.PasswordResetView):
    """Asks for an e-mail address and answers "check your mail" whether or not it is known."""

    form_class = ResetRequestForm
    template_name = "registration/password_reset_form.html"
    success_url = reverse_lazy("password_reset_done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """The link from the mail. Django's view sends `Cache-Control: no-store` (never_cache) and
    moves the token out of the URL into the session at once; ours also refuses a login that
    may not reset any more (switched off, or its person has left since the mail went)."""

    def get_user(self, uidb64: str) -> Any:
        user = super().get_user(uidb64)
        if user is not None and not services.can_reset_password(user):
            return None
        return user
