"""Input adapters for the backlog pages: filters, create, edit (with its version), moves, bulk."""

from __future__ import annotations

from django import forms

from backlog.models import COMMENT_MAX_LENGTH, BacklogItem, ItemStatus, ItemType
from backlog.selectors import unit_component
from backlog.services import MAX_POSITION
from portfolio.validation import MAX_ID, MAX_INT
from portfolio.widgets import SEARCHABLE
from products.models import Dimension


def _any(choices) -> list[tuple[str, str]]:
    return [("", "Any"), *choices]


class BacklogFilterForm(forms.Form):
    q = forms.CharField(label="Text", required=False, max_length=200)
    type = forms.ChoiceField(choices=_any(ItemType.choices), required=False)
    dimension = forms.ChoiceField(choices=_any(Dimension.choices), required=False)
    status = forms.ChoiceField(
        choices=[("", "Any"), ("open", "Open"), *ItemStatus.choices], required=False
    )

    def __init__(self, *args, unit, components, lookup_url: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        # `product`, as in the API (backlog.filters.BacklogItemFilterSet filters the rows).
        self.fields["product"] = ComponentField(
            unit,
            components,
            lookup_url=lookup_url and f"{lookup_url}?empty=any",
            empty_label="Any",
            searchable=False,
            required=False,
        )

    def filters(self) -> dict:
        """The valid filters only: a bad value is ignored (and shown), never a 500."""
        self.is_valid()
        return {k: v for k, v in getattr(self, "cleaned_data", {}).items() if v not in ("", None)}


class ComponentField(forms.TypedChoiceField):
    """One of the unit's products. The select offers the first few by name (`components`, which
    the view loaded once for every form of the page) and the chosen one; a unit with more gets
    a search box that asks the page's lookup for the rest (`lookup_url`, static/js/app.js).
    Any product of the unit is accepted, checked by one query on the unit; any other is not."""

    def __init__(
        self, unit, components, *, lookup_url="", empty_label=None, searchable=True, **kwargs
    ):
        self.unit = unit
        self.empty_label = empty_label
        choices: list[tuple[int | str, str]] = [(p.pk, p.name) for p in components.first]
        if empty_label is not None:
            choices.insert(0, ("", empty_label))
        self.offered = choices
        # The filter's and the bulk form's selects get a search box only when they need one.
        attrs = dict(SEARCHABLE) if searchable or components.more else {}
        if components.more and lookup_url:
            attrs["data-lookup"] = lookup_url
            attrs["data-total"] = str(components.total)
        kwargs.setdefault("widget", forms.Select(attrs=attrs))
        kwargs.setdefault("label", "Component")
        super().__init__(choices=choices, coerce=int, empty_value=None, **kwargs)

    def offer(self, product) -> None:
        """Make sure the select shows `product` (the chosen one may be past the first few)."""
        if product is not None and all(v != product.pk for v, _ in self.offered):
            at = 1 if self.empty_label is not None else 0
            self.offered.insert(at, (product.pk, product.name))
            self.choices = self.offered

    def valid_value(self, value) -> bool:
        return True  # whether it is one of the unit's products is clean()'s question

    def clean(self, value):
        pk = super().clean(value)
        if pk is None:
            return None
        product = unit_component(self.unit, pk) if 1 <= pk <= MAX_ID else None
        if product is None:
            raise forms.ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": value},
            )
        self.offer(product)
        return product


class ComponentChoiceMixin:
    """The component select lists the unit's products (a cluster's members)."""

    fields: dict[str, forms.Field]  # the form's, once mixed into one

    def set_components(self, unit, components, lookup_url: str, chosen=None) -> None:
        field = ComponentField(unit, components, lookup_url=lookup_url)
        field.offer(chosen)
        self.fields["product"] = field
        self.fields["estimate"].label = "Estimate (days)"
        self.fields["estimate"].help_text = ""


class ComponentLookupForm(forms.Form):
    """The component lookup's parameters: the typed text, the option chosen now (kept in the
    answer), and the empty choice the select starts with, if any."""

    EMPTY = {"": None, "any": "Any", "none": "—"}

    q = forms.CharField(required=False, max_length=100)
    selected = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    empty = forms.ChoiceField(choices=[(k, k) for k in EMPTY], required=False)

    def empty_label(self) -> str | None:
        return self.EMPTY[self.cleaned_data["empty"]]


class BacklogItemCreateForm(ComponentChoiceMixin, forms.ModelForm):
    position = forms.ChoiceField(
        choices=[("bottom", "Bottom"), ("top", "Top")], initial="bottom", label="Add at"
    )

    class Meta:
        model = BacklogItem
        fields = ["title", "product", "type", "dimension", "estimate", "source"]

    def __init__(self, *args, unit, components, lookup_url: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.set_components(unit, components, lookup_url)

    def _post_clean(self):  # the service validates the model; the form only parses input
        pass

    def service_kwargs(self) -> dict:
        return dict(self.cleaned_data)


class BacklogItemEditForm(ComponentChoiceMixin, forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=MAX_INT)

    class Meta:
        model = BacklogItem
        fields = [
            "title",
            "product",
            "type",
            "dimension",
            "status",
            "estimate",
            "source",
            "description",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, unit, components, lookup_url: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.set_components(unit, components, lookup_url, chosen=self.instance.product)
        if not self.is_bound:
            self.initial["version"] = self.instance.version

    def _post_clean(self):
        pass

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        return {"version": data.pop("version"), "changes": data}


BOTTOM = MAX_POSITION  # any index past the end: the service places the item last


class PositionField(forms.IntegerField):
    """0-based index, or the words "top" / "bottom" (what the row buttons send)."""

    def to_python(self, value):
        if value == "top":
            return 0
        if value == "bottom":
            return BOTTOM
        return super().to_python(value)


class IdListField(forms.Field):
    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        try:
            return [int(v) for v in value or []]
        except (TypeError, ValueError):
            raise forms.ValidationError("Choose items from the list.") from None

    def validate(self, value):
        if not value:
            raise forms.ValidationError("Select at least one item.")


class BacklogMoveForm(forms.Form):
    """The page's move; its bounds are the API's (BacklogItemMoveSerializer)."""

    before = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    after = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    position = PositionField(required=False, min_value=0, max_value=MAX_POSITION)

    def clean(self):
        data = super().clean()
        given = [k for k in ("before", "after", "position") if data.get(k) is not None]
        if len(given) != 1:
            raise forms.ValidationError("Give exactly one of before, after, position.")
        return data


class BacklogBulkForm(forms.Form):
    ACTIONS = [
        ("status", "Set status"),
        ("component", "Set component"),
        ("top", "Move to top"),
    ]
    action = forms.ChoiceField(choices=ACTIONS)
    items = IdListField(label="Selected items")
    status = forms.ChoiceField(choices=[("", "—"), *ItemStatus.choices], required=False)

    def __init__(self, *args, unit, components, lookup_url: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["component"] = ComponentField(
            unit,
            components,
            lookup_url=lookup_url and f"{lookup_url}?empty=none",
            empty_label="—",
            searchable=False,
            required=False,
        )

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action == "status" and not data.get("status"):
            self.add_error("status", "Choose the status to set.")
        if action == "component" and not data.get("component"):
            self.add_error("component", "Choose the component to set.")
        return data

    def service_kwargs(self) -> dict:
        action = self.cleaned_data["action"]
        if action == "status":
            return {"status": self.cleaned_data["status"]}
        if action == "component":
            return {"product": self.cleaned_data["component"]}
        return {"move_to_top": True}


class BacklogItemCommentForm(forms.Form):
    body = forms.CharField(
        label="Comment",
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Write something to comment."},
    )
