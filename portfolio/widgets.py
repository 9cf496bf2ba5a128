"""Form widgets shared by the pages."""

from __future__ import annotations

import html

from django import forms
from django.utils.choices import BaseChoiceIterator
from django.utils.html import escape
from django.utils.safestring import mark_safe


class PlainChoices(BaseChoiceIterator):
    """(value, label) pairs already in Django's canonical form, typically read from the
    database. Assigned to a field's `choices`, they are kept as they are: a plain list is
    walked and rebuilt twice (for the field, then for its widget), which for the dashboard's
    thousand owners and clusters cost more than rendering them."""

    def __init__(self, pairs: list[tuple[str, str]]):
        self.pairs = pairs

    def __iter__(self):
        return iter(self.pairs)


def _escape(value) -> str:
    return html.escape(str(value))


# Marks a select for the filter-as-you-type box static/js/app.js puts above it (a long list:
# owners, components, migration targets). Without JavaScript it stays a plain select.
SEARCHABLE = {"data-searchable": "true"}


class PlainSelect(forms.Select):
    """A select whose options are joined as strings: the filter bar lists every cluster and
    owner, about a thousand options at portfolio scale, and Django's per-option widget
    templates took most of the dashboard's time."""

    def use_required_attribute(self, initial) -> bool:
        return False

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, attrs)
        chosen = "" if value is None else str(value)
        # The standard library's escape (what Django's wraps, less its lazy-string handling):
        # the same text, at about half the cost over a thousand options.
        options = "".join(
            f'<option value="{_escape(v)}"{" selected" if str(v) == chosen else ""}>'
            f"{_escape(label)}</option>"
            for v, label in self.choices
        )
        extra = "".join(f' {k}="{escape(v)}"' for k, v in attrs.items() if v not in (None, False))
        return mark_safe(f'<select name="{escape(name)}"{extra}>{options}</select>')


class PlainCheckboxes(forms.CheckboxSelectMultiple):
    """Checkboxes joined as strings, each `<label><input type="checkbox"> Label</label>`: the
    product list's filter bar has some fifteen, and Django's widget templates (a template per
    option, each with its attributes copied) cost more than the table's fifty rows."""

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, attrs)
        base_id = attrs.pop("id", None)
        chosen = {str(v) for v in (value or [])}
        extra = "".join(f' {k}="{escape(v)}"' for k, v in attrs.items() if v not in (None, False))
        boxes = []
        for i, (v, label) in enumerate(self.choices):
            box_id = f' id="{escape(base_id)}_{i}"' if base_id else ""
            checked = " checked" if str(v) in chosen else ""
            boxes.append(
                f'<label><input type="checkbox" name="{escape(name)}" value="{escape(v)}"'
                f"{extra}{box_id}{checked}> {escape(label)}</label>"
            )
        return mark_safe("".join(boxes))
