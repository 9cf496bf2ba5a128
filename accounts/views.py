"""Pages of the accounts app: signing in (password or single sign-on) and out, and the API
token pages.

The single sign-on views are mozilla-django-oidc's, with its settings answered from discovery
(accounts/oidc.py) and every failure shown as a page that says what happened and what to do.
Without OIDC_ISSUER and OIDC_CLIENT_ID they answer 404 and the sign-in page is the password
form alone. The token pages answer with `Cache-Control: no-store` (never_cache): the page that
shows a new key must not be kept by a browser or a proxy.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from accounts import oidc
from accounts.forms import ApiTokenForm
from accounts.models import ApiToken
from accounts.selectors import api_tokens_of
from accounts.services import api_token_create, api_token_revoke
from portfolio.htmx import redirect_after_post, render_page
from portfolio.pages import GET_POST, post_data, submit_form

logger = logging.getLogger(__name__)

PROBLEM_TEMPLATE = "accounts/sign_in_problem.html"


def _password_form_shown(request: HttpRequest) -> bool:
    """Password sign-in is offered unless single sign-on works and LOCAL_LOGIN is off;
    `?local=1` shows it anyway, for the superuser's emergency sign-in."""
    return not oidc.enabled() or oidc.local_login_allowed() or request.GET.get("local") == "1"


class SignInForm(AuthenticationForm):
    """The password form; with LOCAL_LOGIN off (and single sign-on on) only superusers pass."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "local_login_off": (
            "Password sign-in is switched off here: use the single sign-on button. "
            "Only a superuser can still sign in with a password."
        ),
    }

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if oidc.enabled() and not oidc.local_login_allowed() and not user.is_superuser:
            self.local_login_refused = True
            raise forms.ValidationError(
                self.error_messages["local_login_off"], code="local_login_off"
            )


class SignInView(auth_views.LoginView):
    authentication_form = SignInForm

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            sso_enabled=oidc.enabled(),
            sso_provider_name=oidc.provider_name(),
            password_form_shown=_password_form_shown(self.request),
            emergency=self.request.GET.get("local") == "1",
        )
        return context

    def form_invalid(self, form: Any) -> HttpResponse:
        response = super().form_invalid(form)
        if getattr(form, "local_login_refused", False):
            response.status_code = 403
        return response


class SignOutView(auth_views.LogoutView):
    """Logs out here, and at the provider too when the session came from it and the provider
    publishes an end-session endpoint; it sends the browser back to the sign-in page."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        provider_url = oidc.provider_logout_url(
            request, post_logout_redirect_uri=request.build_absolute_uri(reverse("login"))
        )
        response = super().post(request, *args, **kwargs)
        if provider_url:
            return HttpResponseRedirect(provider_url)
        return response


def _problem(request: HttpRequest, *, status: int, title: str, message: str, **context: Any):
    return render(
        request,
        PROBLEM_TEMPLATE,
        {
            "title": title,
            "message": message,
            "sso_provider_name": oidc.provider_name(),
            **context,
        },
        status=status,
    )


def _unreachable(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.warning("single sign-on provider unreachable: %s", exc)
    return _problem(
        request,
        status=503,
        title="The sign-in service cannot be reached",
        message=(
            f"We could not reach {oidc.provider_name()} to sign you in. Try again in a few "
            "minutes; if it goes on, tell whoever runs this portfolio."
        ),
    )


class SSOStartView(OIDCAuthenticationRequestView):
    """Sends the browser to the provider with a fresh state, nonce and PKCE challenge."""

    get_settings = staticmethod(oidc.setting)

    def __init__(self, **kwargs: Any) -> None:
        # The library reads the endpoints here; they are discovered in get(), where a provider
        # that is down can be answered with a page.
        super(OIDCAuthenticationRequestView, self).__init__(**kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not oidc.enabled():
            raise Http404("Single sign-on is not configured.")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = oidc.provider().authorization_endpoint
        except oidc.ProviderUnavailable as exc:
            return _unreachable(request, exc)
        self.OIDC_RP_CLIENT_ID = oidc.setting("OIDC_RP_CLIENT_ID")
        response: HttpResponse = super().get(request)
        return response


class SSOCallbackView(OIDCAuthenticationCallbackView):
    """Where the provider sends the browser back: checks the state, lets the backend check the
    token and find the login, and says plainly why when it cannot sign the person in."""

    get_settings = staticmethod(oidc.setting)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not oidc.enabled():
            raise Http404("Single sign-on is not configured.")
        if request.GET.get("error"):
            super().get(request)  # forgets the state, logs out
            return _problem(
                request,
                status=403,
                title="The sign-in was not completed",
                message=(
                    f"{oidc.provider_name()} did not sign you in"
                    + (
                        f": {request.GET['error_description']}"
                        if request.GET.get("error_description")
                        else "."
                    )
                ),
            )
        state = request.GET.get("state", "")
        if not request.GET.get("code") or state not in request.session.get("oidc_states", {}):
            return _problem(
                request,
                status=400,
                title="This sign-in link is not valid",
                message=(
                    "The answer from the sign-in service does not match a sign-in started "
                    "from this browser, or it was already used. Start again from the "
                    "sign-in page."
                ),
            )
        try:
            response: HttpResponse = super().get(request)
        except oidc.SignInRefused as refusal:
            logger.info("single sign-on refused (%s): %s", refusal.reason, refusal.message)
            return _problem(
                request,
                status=refusal.status,
                title="You cannot sign in here",
                message=refusal.message,
                reason=refusal.reason,
                **refusal.context,
            )
        except oidc.ProviderUnavailable as exc:
            return _unreachable(request, exc)
        except requests.HTTPError as exc:
            logger.warning("single sign-on provider refused the code: %s", exc)
            return _problem(
                request,
                status=400,
                title="The sign-in was not completed",
                message=(
                    f"{oidc.provider_name()} did not accept this sign-in any more (it may "
                    "have taken too long). Start again from the sign-in page."
                ),
            )
        except requests.RequestException as exc:
            return _unreachable(request, exc)
        except SuspiciousOperation as exc:
            logger.warning("single sign-on answer refused: %s", exc)
            return _problem(
                request,
                status=400,
                title="This sign-in link is not valid",
                message="The answer from the sign-in service did not check out. Start again.",
            )
        return response

    def login_failure(self) -> HttpResponse:
        return _problem(
            self.request,
            status=403,
            title="You cannot sign in here",
            message="The sign-in service vouched for you, but this portfolio could not sign "
            "you in.",
        )


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
