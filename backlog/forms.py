"""Input adapters for the backlog pages: filters, create, edit (with its version), moves, bulk."""

from __future__ import annotations

from django import forms

from backlog.models import COMMENT_MAX_LENGTH, BacklogItem, ItemStatus, ItemType
from backlog.services import MAX_POSITION
from portfolio.validation import MAX_ID, MAX_INT
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
    # `product`, as in the API (backlog.filters.BacklogItemFilterSet, which filters the rows).
    product = forms.TypedChoiceField(
        label="Component", coerce=int, required=False, empty_value=None
    )

    def __init__(self, *args, components, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = [("", "Any"), *((p.pk, p.name) for p in components)]

    def filters(self) -> dict:
        """The valid filters only: a bad value is ignored (and shown), never a 500."""
        self.is_valid()
        return {k: v for k, v in getattr(self, "cleaned_data", {}).items() if v not in ("", None)}


class ComponentField(forms.TypedChoiceField):
    """One of the unit's products, from a list the view already loaded (no query of its own)."""

    def __init__(self, components, **kwargs):
        self.by_pk = {p.pk: p for p in components}
        choices = [(p.pk, p.name) for p in components]
        super().__init__(choices=choices, coerce=int, label="Component", **kwargs)

    def clean(self, value):
        return self.by_pk[super().clean(value)]


class ComponentChoiceMixin:
    """The component select lists the unit's products (a cluster's members)."""

    fields: dict[str, forms.Field]  # the form's, once mixed into one

    def set_components(self, components) -> None:
        self.fields["product"] = ComponentField(components)
        self.fields["estimate"].label = "Estimate (days)"
        self.fields["estimate"].help_text = ""


class BacklogItemCreateForm(ComponentChoiceMixin, forms.ModelForm):
    position = forms.ChoiceField(
        choices=[("bottom", "Bottom"), ("top", "Top")], initial="bottom", label="Add at"
    )

    class Meta:
        model = BacklogItem
        fields = ["title", "product", "type", "dimension", "estimate", "source"]

    def __init__(self, *args, components, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_components(components)

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

    def __init__(self, *args, components, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_components(components)
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
    component = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)

    def __init__(self, *args, components, **kwargs):
        super().__init__(*args, **kwargs)
        self.components = {p.pk: p for p in components}
        self.fields["component"].choices = [("", "—"), *((p.pk, p.name) for p in components)]

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
            return {"product": self.components[self.cleaned_data["component"]]}
        return {"move_to_top": True}


class BacklogItemCommentForm(forms.Form):
    body = forms.CharField(
        label="Comment",
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Write something to comment."},
    )
