"""The token list's one filterset (the API's; the page shows your own tokens)."""

from __future__ import annotations

import django_filters

from accounts.models import ApiToken
from portfolio.filters import IdFilter


class ApiTokenFilterSet(django_filters.FilterSet):
    user = IdFilter(
        field_name="user_id",
        label="Whose tokens (a login's id; leaders only). Without it, your own.",
    )

    class Meta:
        model = ApiToken
        fields: list[str] = []
