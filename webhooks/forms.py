"""Input adapters of the webhook settings pages; the services validate and write."""

from __future__ import annotations

from django import forms

from portfolio.events import EVENT_TYPES
from webhooks.models import ALL_EVENTS, DESCRIPTION_MAX_LENGTH, SECRET_MAX_LENGTH, URL_MAX_LENGTH

TYPE_CHOICES = [(ALL_EVENTS, "All event types, present and future")] + [
    (name, f"{name}: {kind.description}") for name, kind in EVENT_TYPES.items()
]


class EndpointForm(forms.Form):
    url = forms.CharField(
        label="URL",
        max_length=URL_MAX_LENGTH,
        help_text="https:// (or http://) on a public address; each event is POSTed here.",
    )
    description = forms.CharField(max_length=DESCRIPTION_MAX_LENGTH, required=False)
    event_types = forms.MultipleChoiceField(
        label="Event types",
        choices=TYPE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: nothing is sent.",
    )


class EndpointCreateForm(EndpointForm):
    secret = forms.CharField(
        max_length=SECRET_MAX_LENGTH,
        required=False,
        help_text="Leave empty to have one made; it is shown once.",
    )
    active = forms.BooleanField(required=False, initial=True, label="Send from now on")


class RotateForm(forms.Form):
    secret = forms.CharField(
        max_length=SECRET_MAX_LENGTH,
        required=False,
        help_text="Leave empty to have one made; it is shown once.",
    )
