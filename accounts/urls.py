"""Pages of the accounts app: sign-in, password pages, lockouts and API tokens."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import URLPattern, URLResolver, path

from accounts import views

urlpatterns: list[URLPattern | URLResolver] = [
    # Password change (signed in) and reset (by mail); Django's views, our templates.
    path(
        "accounts/password/change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("accounts/password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    # Leaders: sign-ins locked out after repeated failures, and their unlock.
    path("settings/lockouts/", views.lockout_list, name="lockout-list"),
    path("settings/lockouts/unlock/", views.lockout_unlock, name="lockout-unlock"),
    # API tokens.
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
