"""Input adapters for the funding pages. Amounts are MoneyField: the page accepts them as
people type them (12,500.00) and hands the service a plain decimal, which it parses as it does
the API's (exact, at most two places, never negative)."""

from __future__ import annotations

from django import forms

from funding.models import FundingMode, RequestStatus
from portfolio.filters import ID_OR_SLUG
from portfolio.forms import MoneyField
from portfolio.widgets import SEARCHABLE

STATUS_FILTERS = [
    ("submitted", "Waiting for a leader"),
    ("approved", "Approved"),
    ("rejected", "Rejected"),
    ("draft", "Draft"),
    ("withdrawn", "Withdrawn"),
    ("all", "Any status"),
]


class _PickFromList(forms.TypedChoiceField):
    """One object from a list the view already loaded (no query of its own)."""

    def __init__(self, objects, label_of, **kwargs):
        self.by_pk = {o.pk: o for o in objects}
        choices = [(o.pk, label_of(o)) for o in objects]
        if not kwargs.get("required", True):
            choices = [("", "None"), *choices]
        super().__init__(choices=choices, coerce=int, empty_value=None, **kwargs)

    def clean(self, value):
        pk = super().clean(value)
        return None if pk is None else self.by_pk[pk]


class FollowingSelect(forms.Select):
    """A select whose options each belong to an option of another select (`follows`, its
    id): each option carries `data-for` (the other select's value it goes with), and
    static/js/app.js offers only the options of the value chosen there. Without JavaScript
    every option is offered and the server refuses a mismatch."""

    def __init__(self, *args, follows: str, owner_of: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.attrs["data-follows"] = follows
        self.owner_of = owner_of

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        owner = self.owner_of.get(value)
        if owner is not None:
            option["attrs"]["data-for"] = str(owner)
        return option


class InvestmentRequestForm(forms.Form):
    product = forms.ChoiceField(label="Component")
    amount = MoneyField(help_text="In the organisation's currency, e.g. 12,500.00.")
    purpose = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), help_text="What the money buys, in a sentence."
    )
    metric = forms.ChoiceField(label="Metric it should move", required=False)
    expected_effect = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="How much the metric should move, and by when.",
    )
    fiscal_year = forms.IntegerField(widget=forms.HiddenInput, min_value=2000, max_value=2100)

    def __init__(self, *args, components, metrics, **kwargs):
        kwargs.setdefault("auto_id", "request_%s")
        super().__init__(*args, **kwargs)
        self.fields["product"] = _PickFromList(
            components, lambda p: p.name, label="Component", widget=forms.Select(attrs=SEARCHABLE)
        )
        self.fields["metric"] = _PickFromList(
            metrics,
            lambda m: f"{m.name} ({m.product.name})",
            label="Metric it should move",
            required=False,
            help_text="One of the chosen component's metrics.",
            widget=FollowingSelect(
                follows=self.auto_id % "product", owner_of={m.pk: m.product_id for m in metrics}
            ),
        )

    def clean(self):
        data = super().clean()
        product, metric = data.get("product"), data.get("metric")
        if product is not None and metric is not None and metric.product_id != product.pk:
            self.add_error("metric", f"Pick a metric of {product.name}, the component asked for.")
        return data

    def service_kwargs(self, submit: bool) -> dict:
        return {**self.cleaned_data, "submit": submit}


class AllocationForm(forms.Form):
    operations_amount = MoneyField(label="Operations")
    improvement_amount = MoneyField(label="Improvement")
    mode = forms.ChoiceField(choices=FundingMode.choices, label="Funding mode")
    note = forms.CharField(required=False, max_length=500, label="Note")
    fiscal_year = forms.IntegerField(widget=forms.HiddenInput, min_value=2000, max_value=2100)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "allocation_%s")
        super().__init__(*args, **kwargs)


class DecisionForm(forms.Form):
    """Approve or reject with a reason; the service says so when the reason is missing."""

    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    reason = forms.CharField(required=False, max_length=2000)


class YearForm(forms.Form):
    year = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Year")

    def __init__(self, *args, years, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [(y, str(y)) for y in years]

    def year_or(self, default: int) -> int:
        self.is_valid()
        return getattr(self, "cleaned_data", {}).get("year") or default


class QueueFilterForm(forms.Form):
    """The approval queue's filters; a bad value is shown and ignored, never a 500.

    None of them lists the portfolio: the year is typed (2000-2100) and the cluster given by
    its slug or id, as in the API, so the filter bar costs the same whatever the portfolio's
    size (the queue's cluster select once listed every cluster, 1,600 options at XL)."""

    status = forms.ChoiceField(choices=STATUS_FILTERS, required=False)
    # `fiscal_year`, as in the API (funding.filters.InvestmentRequestFilterSet filters the rows).
    fiscal_year = forms.IntegerField(
        required=False,
        min_value=2000,
        max_value=2100,
        label="Year",
        widget=forms.NumberInput(attrs={"placeholder": "Any"}),
    )
    cluster = forms.CharField(
        required=False,
        max_length=160,
        validators=[ID_OR_SLUG],
        widget=forms.TextInput(attrs={"placeholder": "Any (its slug)", "size": 16}),
    )
    stage = forms.ChoiceField(required=False)
    mode = forms.ChoiceField(
        choices=[("", "Any"), *FundingMode.choices, ("none", "No allocation")],
        required=False,
        label="Funding mode",
    )

    def __init__(self, *args, stages, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = [("", "Any"), *stages]

    def filters(self) -> dict:
        self.is_valid()
        cleaned = {
            k: v for k, v in getattr(self, "cleaned_data", {}).items() if v not in ("", None)
        }
        cleaned.setdefault("status", RequestStatus.SUBMITTED)
        return cleaned
