"""Input adapters for the review pages: they parse what was typed; reviews.services decides
and writes."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from portfolio.validation import validate_date_range
from portfolio.widgets import SEARCHABLE, PlainSelect
from products.models import Person
from reviews.models import DecisionKind
from reviews.services import MAX_RATIONALE, MAX_SUMMARY, cycle_dates_problems


def next_quarter(today=None) -> tuple[int, int]:
    today = today or timezone.localdate()
    quarter = (today.month - 1) // 3 + 1
    return (today.year, quarter + 1) if quarter < 4 else (today.year + 1, 1)


class CycleScheduleForm(forms.Form):
    year = forms.IntegerField(min_value=2000, max_value=2100)
    quarter = forms.TypedChoiceField(
        choices=[(q, f"Q{q}") for q in (1, 2, 3, 4)], coerce=int, empty_value=None
    )
    starts_on = forms.DateField(
        required=False,
        label="First day",
        validators=[validate_date_range],
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave empty to use the quarter's first day.",
    )
    ends_on = forms.DateField(
        required=False,
        label="Last day",
        validators=[validate_date_range],
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave empty to use the quarter's last day.",
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "schedule_%s")
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            year, quarter = next_quarter()
            self.initial.update(year=year, quarter=quarter)

    def clean(self):
        data = super().clean()
        if data.get("year") is not None:
            problems = cycle_dates_problems(
                year=data["year"], starts_on=data.get("starts_on"), ends_on=data.get("ends_on")
            )
            for name, messages in problems.items():
                self.add_error(name, messages)
        return data

    def service_kwargs(self) -> dict:
        return dict(self.cleaned_data)


class DecisionForm(forms.Form):
    # No default: a decision is chosen, never taken by leaving the first option selected.
    kind = forms.ChoiceField(
        choices=[("", "Choose...")] + DecisionKind.choices,
        label="Decision",
        error_messages={"required": "Choose a decision (invest, continue, ...)."},
    )
    rationale = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Why",
        max_length=MAX_RATIONALE,
        help_text="The next review reads this first.",
    )

    def __init__(self, *args, review=None, **kwargs):
        prefix = f"decision{review.pk}_%s" if review is not None else "decision_%s"
        kwargs.setdefault("auto_id", prefix)
        super().__init__(*args, **kwargs)


class ActionItemForm(forms.Form):
    title = forms.CharField(max_length=200, label="Action")
    owner = forms.ChoiceField(required=False, label="Who", widget=PlainSelect(attrs=SEARCHABLE))
    due_on = forms.DateField(
        required=False,
        label="Due",
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_date_range],
    )

    def __init__(self, *args, review=None, **kwargs):
        prefix = f"action{review.pk}_%s" if review is not None else "action_%s"
        kwargs.setdefault("auto_id", prefix)
        super().__init__(*args, **kwargs)
        # Plain values: the list holds every accountable person (not departed, login not
        # disabled), hundreds at portfolio scale. Anyone else posted is "not a valid choice".
        self.fields["owner"].choices = [
            ("", "The unit's owner"),
            *[
                (str(pk), name)
                for pk, name in Person.objects.accountable()
                .order_by("name", "pk")
                .values_list("pk", "name")
            ],
        ]

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        data["owner"] = Person.objects.get(pk=int(data["owner"])) if data.get("owner") else None
        return data


class ActionDoneForm(forms.Form):
    done = forms.BooleanField(required=False)


class ReviewCloseForm(forms.Form):
    summary = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        label="Meeting notes",
        max_length=MAX_SUMMARY,
        help_text="Optional. Kept with the review once it is closed.",
    )

    def __init__(self, *args, review=None, **kwargs):
        prefix = f"close{review.pk}_%s" if review is not None else "close_%s"
        kwargs.setdefault("auto_id", prefix)
        super().__init__(*args, **kwargs)
