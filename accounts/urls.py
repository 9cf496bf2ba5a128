"""Pages of the accounts app: sign-in, password pages, lockouts and API tokens."""

from django.urls import URLPattern, URLResolver, path

from accounts import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("account/tokens/", views.api_tokens, name="account-tokens"),
    path(
        "account/tokens/<int:pk>/revoke/",
        views.api_token_revoke_page,
        name="account-token-revoke",
    ),
]
