"""Pages of the accounts app: sign-in, password pages, lockouts and API tokens."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
