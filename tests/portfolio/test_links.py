"""object_url gives the link reverse() gives, for int and slug routes, under a script prefix
and under another URL configuration."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import clear_script_prefix, path, reverse, set_script_prefix

from portfolio.links import object_url


def _view(request, key):  # pragma: no cover - never called
    raise AssertionError


urlpatterns = [path("elsewhere/<slug:slug>/", _view, name="product-detail")]


@pytest.mark.parametrize(
    ("name", "key"),
    [("product-detail", "billing-2"), ("person-detail", 7), ("split-signal", 12345678901)],
)
def test_the_same_link_as_reverse(name, key):
    assert object_url(name, key) == reverse(name, args=[key])
    assert object_url(name, key) == reverse(name, args=[key])  # from the kept pattern


def test_a_script_prefix_and_another_url_configuration_get_their_own_pattern():
    plain = object_url("product-detail", "atlas")
    set_script_prefix("/portfolio/")
    try:
        assert object_url("product-detail", "atlas") == "/portfolio" + plain
    finally:
        clear_script_prefix()
    with override_settings(ROOT_URLCONF=__name__):
        assert object_url("product-detail", "atlas") == "/elsewhere/atlas/"
    assert object_url("product-detail", "atlas") == plain


def test_a_key_is_put_in_once_and_quoted():
    assert object_url("person-detail", 9999999999) == reverse("person-detail", args=[9999999999])
    assert object_url("product-detail", "a b") == reverse("product-detail", args=["x"]).replace(
        "x", "a%20b"
    )
