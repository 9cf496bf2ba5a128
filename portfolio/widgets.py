"""Form widgets shared by the pages."""

from __future__ import annotations

from django import forms
from django.utils.html import escape
from django.utils.safestring import mark_safe

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
        options = "".join(
            f'<option value="{escape(v)}"{" selected" if str(v) == chosen else ""}>'
            f"{escape(label)}</option>"
            for v, label in self.choices
        )
        extra = "".join(f' {k}="{escape(v)}"' for k, v in attrs.items() if v not in (None, False))
        return mark_safe(f'<select name="{escape(name)}"{extra}>{options}</select>')
