"""Input adapters for the metric pages: define or edit a metric, type in a reading, upload a file.

The forms only parse input; the services validate it and their errors land on these forms
(portfolio.htmx.add_domain_error), so the browser and the API refuse the same things.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone

from metrics.catalogue import TEMPLATES
from metrics.models import INTERVAL_CHOICES, Metric

MAX_UPLOAD_BYTES = 2 * 1024 * 1024


class IntervalField(forms.TypedChoiceField):
    """How often a reading should come in: one of the usual intervals, sent as seconds."""

    def __init__(self, **kwargs):
        choices = [(int(td.total_seconds()), label) for td, label in INTERVAL_CHOICES]
        super().__init__(
            choices=choices,
            coerce=lambda v: dt.timedelta(seconds=int(v)),
            label="Expected reading interval",
            **kwargs,
        )

    def prepare_value(self, value):
        return int(value.total_seconds()) if isinstance(value, dt.timedelta) else value

    def keep(self, value: dt.timedelta) -> None:
        """Offer an interval set elsewhere (the API allows any) so editing does not change it."""
        seconds = int(value.total_seconds())
        # choices reads back as a list; the stubs type it as everything the setter accepts.
        if seconds not in {c for c, _label in self.choices}:  # type: ignore[misc, union-attr]
            self.choices = [*self.choices, (seconds, f"Every {value}")]  # type: ignore[misc]


DEFINITION = [
    "name",
    "key",
    "description",
    "level",
    "dimension",
    "unit",
    "better",
    "target",
    "warning",
    "critical",
]


class MetricForm(forms.ModelForm):
    """A metric's definition. For a new metric a catalogue template may fill every field."""

    expected_interval = IntervalField(required=False)

    class Meta:
        model = Metric
        fields = DEFINITION
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        labels = {"key": "Key", "better": "Better when"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["key"].help_text = "Readings and CSV files name the metric by this key."
        if self.instance.pk:
            self.fields["expected_interval"].keep(self.instance.expected_interval)
            self.fields["expected_interval"].required = True
            if not self.is_bound:
                self.initial["expected_interval"] = self.instance.expected_interval

    def _post_clean(self):  # the service validates the model; the form only parses input
        pass

    def changes(self) -> dict:
        """The definition fields, and the version the edit was read at (see carry_version)."""
        keep = (*DEFINITION, "expected_interval", "version")
        return {k: v for k, v in self.cleaned_data.items() if k in keep}


class MetricCreateForm(MetricForm):
    """Pick a template, a custom definition, or a template with some fields changed."""

    template = forms.ChoiceField(
        required=False,
        label="Start from",
        choices=[
            ("", "A custom metric (fill in the fields)"),
            *((t.key, f"{t.name} · {t.dimension}, {t.unit}") for t in TEMPLATES),
        ],
        help_text="A template fills in every field; whatever you type below replaces its value.",
    )

    field_order = ["template", *DEFINITION, "expected_interval"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # With a template every field is optional: what is left blank comes from the template.
        for name in (*DEFINITION, "expected_interval"):
            self.fields[name].required = False
        for name in ("level", "dimension", "better", "expected_interval"):
            choices = [c for c in self.fields[name].choices if c[0] != ""]
            self.fields[name].choices = [("", "—"), *choices]

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        template = data.get("template") or None
        fields: dict[str, Any] = {}
        for name in (*DEFINITION, "expected_interval"):
            value = data.get(name)
            if value in ("", None):
                # Blank keeps the template's value; on a custom metric the service names
                # the missing required fields.
                if template is None and name in ("warning", "critical"):
                    fields[name] = None
                continue
            fields[name] = value
        return {"template": template, **fields}


class ReadingForm(forms.Form):
    """One reading typed in. Time and value go to the service as text: it parses them the same
    way as the API and CSV files and names the field at fault."""

    time = forms.CharField(
        max_length=40,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "60"}),
        help_text=f"In server time ({settings.TIME_ZONE}).",
    )
    value = forms.CharField(max_length=40, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    source = forms.CharField(max_length=60, initial="manual")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "reading_%s")
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["time"] = timezone.localtime().strftime("%Y-%m-%dT%H:%M")


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=f"UTF-8 text, at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            size = upload.size / (1024 * 1024)
            raise forms.ValidationError(
                f"The file is {size:.1f} MB; the limit is "
                f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MB. Split it into smaller files."
            )
        return upload
