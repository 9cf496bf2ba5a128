"""Input adapters for the analytics pages: the dashboard filters and the split signal actions.
They parse input; the services (portfolio.analytics.services) decide and write."""

from __future__ import annotations

from django import forms

from analytics.dashboard import DASHBOARD_STAGES, Scope
from analytics.models import SignalStatus
from portfolio.widgets import PlainChoices, PlainSelect
from products.models import Cluster, Person, Product


class DashboardFilterForm(forms.Form):
    cluster = forms.ChoiceField(required=False, widget=PlainSelect)
    stage = forms.ChoiceField(
        choices=[("", "All stages"), *[(s.value, s.label) for s in DASHBOARD_STAGES]],
        required=False,
    )
    owner = forms.ChoiceField(required=False, widget=PlainSelect)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Plain values, one query each: no model instance per option.
        self.fields["cluster"].choices = PlainChoices(
            [("", "All clusters"), *Cluster.objects.order_by("name").values_list("slug", "name")]
        )
        self.fields["owner"].choices = PlainChoices(
            [
                ("", "All owners"),
                *[
                    (str(pk), name)
                    for pk, name in Person.objects.filter(units__is_active=True)
                    .distinct()
                    .order_by("name", "pk")
                    .values_list("pk", "name")
                ],
            ]
        )

    def scope(self) -> Scope:
        """The filters that parsed; a value that did not is ignored (and shown as an error)."""
        data = self.cleaned_data if self.is_valid() else getattr(self, "cleaned_data", {})
        cluster = owner = None
        if data.get("cluster"):
            cluster = Cluster.objects.filter(slug=data["cluster"]).only("name", "slug").first()
        if data.get("owner"):
            owner = Person.objects.filter(pk=int(data["owner"])).only("name").first()
        return Scope(cluster=cluster, stage=data.get("stage") or "", owner=owner)


class SignalListFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[*SignalStatus.choices, ("all", "Any status")], required=False
    )
    cluster = forms.ModelChoiceField(
        Cluster.objects.order_by("name").only("name", "slug"),
        to_field_name="slug",
        required=False,
        empty_label="All clusters",
    )

    def status_value(self) -> str:
        data = self.cleaned_data if self.is_valid() else {}
        return data.get("status") or SignalStatus.OPEN


class SplitForm(forms.Form):
    product = forms.ModelChoiceField(
        Product.objects.none(),
        required=False,
        empty_label=None,
        label="Member leaving the cluster",
        help_text="It takes its backlog items (in their order), metrics and history along.",
    )
    new_owner = forms.ModelChoiceField(
        Person.objects.accountable().order_by("name").only("name"),
        required=False,
        empty_label="Choose a person",
        label="Its new owner",
        help_text="Accountable for the product on its own: improvement, operations and support.",
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label="Note",
        help_text="Why it leaves the cluster now (kept with the signal).",
    )

    def __init__(self, *args, signal=None, **kwargs):
        super().__init__(*args, **kwargs)
        if signal is not None:
            field = self.fields["product"]
            field.queryset = Product.objects.filter(unit__cluster_id=signal.cluster_id).order_by(
                "name"
            )
            field.initial = signal.product_id


class DismissForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label="Why it stays",
        help_text="Required: the reason the member stays in the cluster on purpose.",
    )

    def __init__(self, *args, **kwargs):
        # Shown on the same page as the split form, which has a note too.
        kwargs.setdefault("auto_id", "dismiss_%s")
        super().__init__(*args, **kwargs)
