"""Page input of the accounts app."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from accounts.models import NAME_MAX_LENGTH
from portfolio.validation import validate_date_range


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=NAME_MAX_LENGTH,
        help_text="The system that will use it, e.g. “CMDB sync”. One token per integration.",
    )
    expires_at = forms.DateField(
        label="Valid until",
        required=False,
        validators=[validate_date_range],
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional: the token stops working at the end of this day.",
    )

    def clean_expires_at(self) -> dt.datetime | None:
        day: dt.date | None = self.cleaned_data.get("expires_at")
        if day is None:
            return None
        return timezone.make_aware(dt.datetime.combine(day, dt.time.max))
