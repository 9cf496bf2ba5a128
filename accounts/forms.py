"""Page input of the accounts app: a new API token, the password reset request, the unlock
button."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth.forms import PasswordResetForm
from django.utils import timezone

from accounts.models import NAME_MAX_LENGTH
from accounts.services import password_reset_request
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


class ResetRequestForm(PasswordResetForm):
    """Django's reset request form, sending through our service: the mail is queued (never
    sent during the request) and logins of people who have left get none."""

    def save(self, *, request: Any = None, use_https: bool = False, **_: Any) -> int:  # type: ignore[override]
        base_url = f"{'https' if use_https else 'http'}://{request.get_host()}" if request else ""
        return password_reset_request(email=self.cleaned_data["email"], base_url=base_url)


class UnlockForm(forms.Form):
    """Which lockout to lift: a username, an address, or the pair."""

    username = forms.CharField(max_length=150, required=False)
    ip_address = forms.GenericIPAddressField(required=False, label="Address")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("username") and not data.get("ip_address"):
            raise forms.ValidationError("Name the username or the address to unlock.")
        return data
