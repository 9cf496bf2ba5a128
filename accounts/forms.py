"""Page input of the accounts app: the password reset request and the unlock button."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import PasswordResetForm

from accounts.services import password_reset_request


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
