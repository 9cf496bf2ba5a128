"""Input adapters for the product pages. They parse input; the product services write."""

from __future__ import annotations

import html

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.html import escape
from django.utils.safestring import mark_safe

from portfolio.forms import ServiceForm, drop_unless_leader
from portfolio.validation import validate_date_range
from portfolio.widgets import SEARCHABLE, PlainCheckboxes, PlainSelect
from products.models import (
    LIVE_STAGES,
    Cluster,
    ClusterReason,
    Criticality,
    Kind,
    ManagementModel,
    Person,
    Product,
    Stage,
    Team,
)
from products.rules import end_date_refusal
from products.selectors import FilterOptions, product_filter_options
from products.services import MODEL_QUESTIONS, MigrationPlanInput

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _parse_external_ids(text: str) -> list[tuple[str, str]]:
    pairs, bad = [], []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        source, sep, ext_id = line.partition(":")
        if not sep or not source.strip() or not ext_id.strip():
            bad.append(line)
        pairs.append((source.strip().lower(), ext_id.strip()))
    if bad:
        raise forms.ValidationError(
            "Write each id as source:id, one per line (not: %(lines)s).",
            params={"lines": "; ".join(bad)},
        )
    return pairs


class ProductForm(ServiceForm):
    """Create or edit a product. Owner, cluster and 'strategic' are shown to leaders only."""

    owner = forms.ModelChoiceField(
        Person.objects.accountable().order_by("name"),
        required=False,
        empty_label="No owner yet",
        help_text="Accountable for improvement, operations and support of the product.",
        widget=forms.Select(attrs=SEARCHABLE),
    )
    cluster = forms.ModelChoiceField(
        Cluster.objects.order_by("name"),
        required=False,
        empty_label="No cluster: run as a unit of its own",
        help_text="In a cluster, the cluster's owner owns the product.",
    )
    external_ids = forms.CharField(
        label="External ids",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "cmdb:CI-00042"}),
        help_text="Its ids in other systems, one per line as source:id.",
    )

    class Meta:
        model = Product
        fields = [
            "name",
            "slug",
            "kind",
            "lifecycle_stage",
            "owner",
            "cluster",
            "team",
            "management_model",
            "project_end_date",
            "criticality",
            "strategic",
            "under_significant_change",
            "description",
            "user_groups",
            "user_count",
            "key_use_cases",
            "business_capabilities",
            "dependencies",
            "external_ids",
        ]
        labels = {
            "management_model": "Managed as",
            "lifecycle_stage": "Starting stage",
            "user_count": "Approximate number of users",
            "under_significant_change": "Under significant operational change",
        }
        help_texts = {
            "management_model": "Projects have an end date and stay out of ownership "
            "ceilings, metric and review requirements.",
            "project_end_date": "Needed when it is managed as a project.",
            "dependencies": "Products this one needs in order to work.",
            "strategic": "Strategic products are candidates for a unit of their own.",
        }
        widgets = {
            "project_end_date": DATE,
            "description": forms.Textarea(attrs={"rows": 3}),
            "user_groups": forms.Textarea(attrs={"rows": 2}),
            "key_use_cases": forms.Textarea(attrs={"rows": 2}),
            "business_capabilities": forms.Textarea(attrs={"rows": 2}),
            "dependencies": forms.SelectMultiple(attrs={"size": 6}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        product = self.instance
        self.fields["slug"].required = False
        self.fields["project_end_date"].validators.append(validate_date_range)
        self.fields["slug"].help_text = "Used in addresses; left empty, it is made from the name."
        self.fields["team"].queryset = Team.objects.order_by("name")
        self.fields["team"].empty_label = "No team"
        deps = Product.objects.visible_to(user).order_by("name").only("name")
        self.fields["dependencies"].queryset = deps.exclude(pk=product.pk) if product.pk else deps
        self.owner_via_cluster = None
        if product.pk:
            del self.fields["lifecycle_stage"]  # stages change through recorded transitions
            self.initial.setdefault("cluster", product.cluster.pk if product.cluster else None)
            self.initial.setdefault("owner", product.owner.pk if product.owner else None)
            self.initial.setdefault(
                "external_ids",
                "\n".join(f"{e.source}:{e.external_id}" for e in product.external_ids.all()),
            )
            if product.cluster is not None:
                # The cluster's owner owns its members; that owner is changed on the cluster.
                self.owner_via_cluster = product.cluster
                del self.fields["owner"]
        else:
            self.fields["lifecycle_stage"].choices = [
                (s.value, s.label) for s in Stage if s in LIVE_STAGES
            ]
        drop_unless_leader(self, user, ("owner", "cluster", "strategic"))

    def clean_external_ids(self) -> list[tuple[str, str]]:
        return _parse_external_ids(self.cleaned_data.get("external_ids") or "")

    def clean(self):
        data = super().clean()
        # The service's rule (products/rules.py), checked here too so the page shows it beside
        # the field together with the form's own errors.
        refusal = end_date_refusal(
            model=data.get("management_model") or ManagementModel.PRODUCT,
            end=data.get("project_end_date"),
        )
        if refusal is not None:
            self.add_error(refusal.field, refusal.message)
        return data

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        data["dependencies"] = list(data.get("dependencies") or [])
        if not data.get("slug") and self.instance.pk:
            data["slug"] = self.instance.slug
        return data


class ModelQuestionsForm(forms.Form):
    """The guided questions behind the product-or-project suggestion (a person still decides)."""

    prefix = "q"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key, question, _leaning in MODEL_QUESTIONS:
            self.fields[key] = forms.BooleanField(label=question, required=False)

    def answers(self) -> dict[str, bool]:
        return {key: bool(self.cleaned_data.get(key)) for key, _q, _l in MODEL_QUESTIONS}


class TransitionForm(forms.Form):
    """A lifecycle move. Every stage is accepted here so the service can name the rule a
    move breaks; the dialog offers only the moves that are allowed from the current stage."""

    to_stage = forms.ChoiceField(label="Move to", choices=Stage.choices)
    reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Needed when moving back to an earlier stage, and for a leader's override.",
    )
    targets: forms.ModelMultipleChoiceField[Product] = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        label="Migrate to",
        widget=forms.SelectMultiple(attrs={"size": 8, **SEARCHABLE}),
        help_text="Products that take over its users and capabilities.",
    )
    capability_dropped = forms.BooleanField(
        required=False, label="The capability is dropped, not migrated"
    )
    dropped_reason = forms.CharField(
        required=False,
        label="Why it is dropped",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    planned_end_date = forms.DateField(
        required=False, widget=DATE, label="Planned end date", validators=[validate_date_range]
    )
    override = forms.BooleanField(
        required=False,
        label="Retire before the migration plan is done (leader override)",
        help_text="Recorded with the reason above.",
    )

    def __init__(self, *args, product: Product, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Typed as a plain Field by the stubs; this one is the ModelMultipleChoiceField above.
        self.fields["targets"].queryset = (  # type: ignore[attr-defined]
            Product.objects.visible_to(user)
            .filter(lifecycle_stage__in=LIVE_STAGES)
            .exclude(pk=product.pk)
            .order_by("name")
            .only("name")
        )
        drop_unless_leader(self, user, ("override",))

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        plan = None
        if data["to_stage"] == Stage.RETIREMENT:
            plan = MigrationPlanInput(
                planned_end_date=data.get("planned_end_date"),
                targets=list(data.get("targets") or []),
                capability_dropped=bool(data.get("capability_dropped")),
                dropped_reason=data.get("dropped_reason") or "",
            )
        return {
            "to_stage": data["to_stage"],
            "reason": data.get("reason") or "",
            "migration_plan": plan,
            "override": bool(data.get("override")),
        }


SORT_CHOICES = [
    ("name", "Name (A to Z)"),
    ("-name", "Name (Z to A)"),
    ("stage", "Stage"),
    ("owner", "Owner"),
    ("-updated", "Recently updated"),
    ("updated", "Least recently updated"),
]


class _FilterOptions:
    """The filter bar's options, loaded on first use and at most once per form."""

    def __init__(self) -> None:
        self._data: FilterOptions | None = None

    def get(self, name: str) -> tuple[list[tuple[str, str]], str]:
        if self._data is None:
            self._data = product_filter_options()
        return self._data[name]


class FastSelect(forms.Select):
    """A single select rendered in plain Python.

    The filter bar offers every cluster, owner and team; at portfolio scale that is about a
    thousand options, and rendering each through the widget templates took half the page time.
    """

    def use_required_attribute(self, initial) -> bool:
        # Django's version walks the choices to look at the first one; these are never required.
        return False

    source: _FilterOptions | None = None  # set per form
    source_name = ""

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, attrs)
        selected = "" if value is None else str(value[0] if isinstance(value, list) else value)
        # The options come rendered (and cached) from selectors.product_filter_options();
        # marking the chosen one is a string replacement.
        marker = f'<option value="{html.escape(selected)}">'
        options = self.source.get(self.source_name)[1].replace(
            marker, f'<option value="{html.escape(selected)}" selected>', 1
        )
        extra = "".join(f' {k}="{escape(v)}"' for k, v in attrs.items() if v not in (None, False))
        return mark_safe(f'<select name="{escape(name)}"{extra}>{options}</select>')


class ProductFilterForm(forms.Form):
    """The filter bar of the product list. Display only: ProductFilterSet does the filtering,
    with the same parameter names as /api/v1/products/."""

    q = forms.CharField(required=False, label="Search")
    # Plain widgets throughout (portfolio/widgets.py): rendered by Django's widget templates,
    # this bar cost more than the fifty rows under it.
    stage = forms.MultipleChoiceField(choices=Stage.choices, required=False, widget=PlainCheckboxes)
    kind = forms.MultipleChoiceField(choices=Kind.choices, required=False, widget=PlainCheckboxes)
    model = forms.ChoiceField(
        label="Managed as",
        required=False,
        choices=[("", "Products and projects"), *ManagementModel.choices],
        widget=PlainSelect,
    )
    criticality = forms.MultipleChoiceField(
        choices=Criticality.choices, required=False, widget=PlainCheckboxes
    )
    cluster = forms.ChoiceField(required=False, widget=FastSelect)
    owner = forms.ChoiceField(required=False, widget=FastSelect)
    team = forms.ChoiceField(required=False, widget=FastSelect)
    ordering = forms.ChoiceField(
        label="Sort by", required=False, choices=SORT_CHOICES, widget=PlainSelect
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Loaded on first use: an htmx table refresh renders no filter bar and runs no query
        # for it.
        source = _FilterOptions()
        for name in ("cluster", "owner", "team"):
            field = self.fields[name]
            field.choices = lambda name=name: source.get(name)[0]
            field.widget.source = source
            field.widget.source_name = name


class PersonForm(ServiceForm):
    class Meta:
        model = Person
        fields = ["name", "email", "title", "user", "active"]
        labels = {"user": "Login", "active": "Still with us"}
        help_texts = {
            "user": "The login this person signs in with; owners need one to edit their units.",
            "active": "Untick when the person has left: their units then have no accountable "
            "owner until a leader names a new one.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        taken_elsewhere = Q(person__isnull=False) & ~Q(person=self.instance.pk or 0)
        self.fields["user"].queryset = (
            get_user_model().objects.exclude(taken_elsewhere).order_by("username")
        )
        self.fields["user"].empty_label = "No login"


class TeamForm(ServiceForm):
    class Meta:
        model = Team
        fields = ["name", "slug", "description", "members"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "members": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False
        self.fields["slug"].help_text = "Left empty, it is made from the name."
        self.fields["members"].queryset = Person.objects.filter(active=True).order_by("name")

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        if not data.get("slug") and self.instance.pk:
            data["slug"] = self.instance.slug
        return data


class ClusterForm(ServiceForm):
    reasons = forms.MultipleChoiceField(
        choices=ClusterReason.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Why these products belong together. A cluster with no reason is flagged: "
        "being small is not a reason to group products.",
    )
    owner = forms.ModelChoiceField(
        Person.objects.accountable().order_by("name"),
        required=False,
        empty_label="No owner yet",
        help_text="Accountable for every member's improvement, operations and support.",
        widget=forms.Select(attrs=SEARCHABLE),
    )

    class Meta:
        model = Cluster
        fields = ["name", "slug", "owner", "reasons", "reason_note", "description"]
        labels = {"reason_note": "More about the reason"}
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "reason_note": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False
        self.fields["slug"].help_text = "Left empty, it is made from the name."
        unit = getattr(self.instance, "unit", None) if self.instance.pk else None
        if unit is not None:
            self.initial.setdefault("owner", unit.owner_id)
        # Renaming a cluster and naming its owner are portfolio design decisions.
        drop_unless_leader(self, user, ("name", "slug", "owner"))

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        if "slug" in data and not data["slug"] and self.instance.pk:
            data["slug"] = self.instance.slug
        return data


class ClusterMembersForm(forms.Form):
    """Add a product to a cluster, or take one out to a unit of its own."""

    action = forms.ChoiceField(choices=[("add", "Add"), ("remove", "Remove")])
    product: forms.ModelChoiceField[Product] = forms.ModelChoiceField(queryset=None)
    new_owner = forms.ModelChoiceField(
        Person.objects.accountable(),
        required=False,
        widget=forms.Select(attrs=SEARCHABLE),
        help_text="Owner of the product's own unit once it leaves; empty keeps the cluster's.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)

        self.fields["product"].queryset = Product.objects.visible_to(user)


class ImportForm(forms.Form):
    """A catalogue file to preview (products/imports.py reads and checks it)."""

    file = forms.FileField(
        label="CSV or XLSX file",
        help_text="The product export's columns; at most 10 MB and 10,000 products.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )


class ImportConfirmForm(forms.Form):
    """The preview being confirmed: its upload and the catalogue fingerprint it was made on."""

    upload = forms.IntegerField(widget=forms.HiddenInput)
    fingerprint = forms.CharField(max_length=64, widget=forms.HiddenInput)
