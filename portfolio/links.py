"""Links to one object's page, without a full `reverse()` per link.

A dashboard or list links every row it shows, some hundred links a page; `reverse()` walks the
URL resolver for each (tens of microseconds). `object_url` reverses a URL once per name, with a
marker for its one argument, and puts the key in place of the marker after that.
"""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

# Matches both the int and the slug converters, and appears in no route of its own.
_MARK = "9999999999"
_patterns: dict[tuple[str, str, str], str] = {}


def object_url(name: str, key: int | str) -> str:
    """`reverse(name, args=[key])` for a route with one int or slug argument.

    The pattern is kept per name, script prefix and URL configuration, so a test that swaps the
    URL configuration, or a deployment under a path prefix, gets its own."""
    cache_key = (name, get_script_prefix(), str(get_urlconf() or settings.ROOT_URLCONF))
    pattern = _patterns.get(cache_key)
    if pattern is None:
        pattern = _patterns[cache_key] = reverse(name, args=[_MARK])
    return pattern.replace(_MARK, quote(str(key), safe=""), 1)
