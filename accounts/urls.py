"""Pages of the accounts app: sign-in, password pages, lockouts and API tokens."""

from django.contrib.auth.decorators import login_not_required
from django.urls import URLPattern, URLResolver, path

from accounts import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("account/tokens/", views.api_tokens, name="account-tokens"),
    path(
        "account/tokens/<int:pk>/revoke/",
        views.api_token_revoke_page,
        name="account-token-revoke",
    ),
    # Single sign-on (OpenID Connect); 404 unless OIDC_ISSUER and OIDC_CLIENT_ID are set.
    # The provider must list https://<host>/oidc/callback/ as a redirect URI (docs/sso.md).
    path(
        "oidc/authenticate/",
        login_not_required(views.SSOStartView.as_view()),
        name="oidc_authentication_init",
    ),
    path(
        "oidc/callback/",
        login_not_required(views.SSOCallbackView.as_view()),
        name="oidc_authentication_callback",
    ),
]
