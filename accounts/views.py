"""The API token pages: your tokens, a new one shown once, and revoking one.

Every answer carries `Cache-Control: no-store` (never_cache): the page that shows a new key
must not be kept by a browser or a proxy, and the list is no one else's business either.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from accounts.forms import ApiTokenForm
from accounts.models import ApiToken
from accounts.selectors import api_tokens_of
from accounts.services import api_token_create, api_token_revoke
from portfolio.htmx import redirect_after_post, render_page
from portfolio.pages import GET_POST, post_data, submit_form


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
