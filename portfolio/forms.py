"""Input adapters for the portfolio pages: they parse and show fields, services do the writes."""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError

from portfolio.models import PortfolioSettings
from portfolio.permissions import is_leader
from portfolio.text import counted, money


class ServiceForm(forms.ModelForm):
    """A ModelForm that only reads input; the service validates the model and saves it.

    Model validation is left to the service (which raises ValidationFailed, mapped back onto
    the form by portfolio.htmx.add_domain_error), so the rules live in one place and the
    instance handed in for initial values is never changed by a failed submit.
    """

    def _post_clean(self):
        pass

    def save(self, commit=True):
        raise NotImplementedError("Writes go through the services, not form.save().")


def drop_unless_leader(form: forms.BaseForm, user, names: tuple[str, ...]) -> None:
    if not is_leader(user):
        for name in names:
            form.fields.pop(name, None)


# The model leaves a few thresholds without help text; each field on the settings page
# explains the rule it feeds, so these fill the gaps.
SETTINGS_HELP = {
    "crowding_top_items": "How many top-ranked backlog items the crowding check also looks at.",
    "crowding_snapshots_required": "Weekly snapshots that must show crowding before it "
    "counts as a split signal.",
    "crowding_snapshots_window": "How many recent weekly snapshots the crowding check reads.",
    "dominance_fair_share_multiple": "A member is dominant above this multiple of its fair "
    "share of the unit's effort (and above the share set above).",
    "dominance_window_days": "Days of finished work and logged effort the dominance check reads.",
    "currency": "Three-letter currency code for amounts (EUR, USD, ...).",
    "candidates_shown": "How many 'where to start' candidates the dashboard ranks.",
    "metrics_min": "Fewest metrics a product should have to count as ready.",
    "metrics_max": "Most metrics a product should have before the set gets noisy.",
    "review_reminder_days": "Days before a review its owner gets a reminder by email.",
}

SETTINGS_LABELS = {
    "max_active_units": "Active units per owner",
    "max_stable_units": "Stable units per owner",
    "triaging_active_units": "Active units that mean triage",
    "design_problem_consecutive": "Snapshots over the ceiling before a design problem",
    "crowding_share_pct": "Largest share of the backlog (%)",
    "crowding_top_items": "Top items looked at",
    "crowding_idle_days": "Days with nothing finished",
    "crowding_snapshots_required": "Snapshots that must show crowding",
    "crowding_snapshots_window": "Snapshots looked at",
    "dominance_share_pct": "Largest share of the effort (%)",
    "dominance_fair_share_multiple": "Multiple of the fair share",
    "dominance_window_days": "Days of effort looked at",
    "governance_threshold": "Governance threshold",
    "currency": "Currency",
    "orphan_item_age_days": "Days before an untouched item counts",
    "orphan_review_quarters": "Quarters without a review",
    "candidates_shown": "Candidates shown",
    "metrics_min": "Fewest metrics per product",
    "metrics_max": "Most metrics per product",
    "stale_interval_multiple": "Missed intervals before a metric is stale",
    "review_reminder_days": "Reminder, days ahead",
}

SETTINGS_SECTIONS = [
    (
        "Owner load",
        "How much one owner can carry before the portfolio design needs another look.",
        [
            "max_active_units",
            "max_stable_units",
            "triaging_active_units",
            "design_problem_consecutive",
        ],
    ),
    (
        "Split signal: backlog crowding",
        "One member of a cluster takes the backlog while another gets nothing done.",
        [
            "crowding_share_pct",
            "crowding_top_items",
            "crowding_idle_days",
            "crowding_snapshots_required",
            "crowding_snapshots_window",
        ],
    ),
    (
        "Split signal: operational dominance",
        "One member takes most of the unit's operations and support effort.",
        ["dominance_share_pct", "dominance_fair_share_multiple", "dominance_window_days"],
    ),
    (
        "Investments",
        "When an investment request needs a leader.",
        ["governance_threshold", "currency"],
    ),
    (
        "Signs of neglect",
        "What marks a product as a candidate to take on first.",
        ["orphan_item_age_days", "orphan_review_quarters", "candidates_shown"],
    ),
    (
        "Metrics",
        "How many metrics a product should have, and when a reading is overdue.",
        ["metrics_min", "metrics_max", "stale_interval_multiple"],
    ),
    (
        "Quarterly reviews",
        "When owners hear about their coming review.",
        ["review_reminder_days"],
    ),
]


# Each rule in one sentence, with the saved thresholds filled in, shown beside its fields.
SETTINGS_RULES = {
    "Owner load": [
        "Owner ceiling: an owner may carry {active_units_words} and "
        "{max_stable_units} stable ones; one more of either is over the ceiling, and "
        "{triaging_active_units} or more active units means the owner is triaging, not owning.",
        "Design problem: an owner over the ceiling in {design_problem_consecutive} snapshots in "
        "a row points at the portfolio's design, so the product suggests better cluster "
        "groupings for their units instead of more products per person.",
    ],
    "Split signal: backlog crowding": [
        "A member crowds its cluster when it holds more than {crowding_share_pct}% of the open "
        "estimate (or of the top {crowding_top_items} items) while another member finished "
        "nothing in {crowding_idle_days} days, in {crowding_snapshots_required} of the last "
        "{crowding_snapshots_window} weekly snapshots.",
    ],
    "Split signal: operational dominance": [
        "A member dominates when it takes more than {dominance_share_pct}% and more than "
        "{dominance_fair_share_multiple} times its fair share of the cluster's finished "
        "operations and support effort in the last {dominance_window_days} days.",
    ],
    "Investments": [
        "Strategic significance: a cluster member flagged strategic always raises a split "
        "signal, since it may deserve an owner of its own.",
        "Requests above {governance_threshold} {currency} need a leader's approval.",
    ],
    "Signs of neglect": [
        "Candidates: a product with no accountable owner, with open items untouched for "
        "{orphan_item_age_days} days, or with high support demand scores as a place to start; "
        "the dashboard ranks the top {candidates_shown}; so does a unit with no review held "
        "in the last {orphan_review_quarters} quarters.",
    ],
    "Metrics": [
        "A product counts as measured with {metrics_min} to {metrics_max} metrics that cover "
        "improvement, operations and support together.",
        "Stale: a metric with no reading for {stale_interval_multiple} times its expected "
        "interval is shown as stale instead of with its old status.",
    ],
    "Quarterly reviews": [
        "Each owner gets an email {review_reminder_days} days before their unit's review, with "
        "a link to its packet.",
    ],
}


def _plain(value) -> str:
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value)


class PortfolioSettingsForm(ServiceForm):
    class Meta:
        model = PortfolioSettings
        fields = [name for _, _, names in SETTINGS_SECTIONS for name in names]
        help_texts = SETTINGS_HELP
        labels = SETTINGS_LABELS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Money as people type it (12,500.00), like every other amount on the pages.
        threshold = self.fields["governance_threshold"]
        self.fields["governance_threshold"] = MoneyField(
            label=threshold.label, help_text=threshold.help_text, required=threshold.required
        )

    def clean_governance_threshold(self):
        value = self.cleaned_data["governance_threshold"]
        return Decimal(value) if value else value

    def sections(self) -> list[tuple[str, str, list[str], list]]:
        values = {name: _plain(getattr(self.instance, name)) for name in self._meta.fields or ()}
        values["governance_threshold"] = money(self.instance.governance_threshold)
        values["active_units_words"] = counted(
            self.instance.max_active_units, "actively evolving unit"
        )
        return [
            (
                title,
                intro,
                [rule.format(**values) for rule in SETTINGS_RULES.get(title, [])],
                [self[n] for n in names],
            )
            for title, intro, names in SETTINGS_SECTIONS
        ]


# --- Money ----------------------------------------------------------------------------------------
# An amount as people type it and as the app shows it (12,500.00): commas (or spaces) only
# between groups of three digits, a point before at most a few decimals. Anything that could
# be read two ways (12,50 or 12.500,00 in the continental style, 1,2,3) is refused with why.
_GROUPED = re.compile(r"^-?(?:\d{1,3}(?:(?P<sep>[, ])\d{3})(?:(?P=sep)\d{3})*|\d+)(?:\.\d+)?$")
_SPACES = "\u00a0\u202f\u2009"  # no-break and thin spaces, as copied from a spreadsheet


def parse_money_text(value: str) -> str:
    """The plain decimal `value` spells ("12,500.50" -> "12500.50"), or a ValidationError
    saying why it is ambiguous. Ranges and decimal places are the service's to check."""
    text = value.strip()
    for space in _SPACES:
        text = text.replace(space, " ")
    if _GROUPED.match(text):
        return text.replace(",", "").replace(" ", "")
    if "," in text and "." in text and text.rindex(",") > text.rindex("."):
        why = "a comma after the point reads as decimals in some countries"
    elif re.fullmatch(r"-?\d+,\d{1,2}", text):
        why = "a comma before one or two last digits could be decimals (12,50) or a typo"
    elif re.search(r"[, ]", text):
        why = "commas or spaces go only between groups of three digits (12,500)"
    else:
        why = "it is not a number"
    raise DjangoValidationError(
        f"Not an amount: {why}. Write it like 12500, 12,500 or 12,500.00.", code="invalid"
    )


class MoneyField(forms.CharField):
    """Every money input on the pages: accepts 12500, 12,500, 12 500, 12500.50 and
    12,500.00, refuses ambiguous forms with the reason, and hands the service a plain decimal
    string (the API takes plain decimals only; see docs/api.md)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 30)
        kwargs.setdefault("help_text", "For example 12,500.00.")
        super().__init__(**kwargs)

    def widget_attrs(self, widget):
        return {**super().widget_attrs(widget), "inputmode": "decimal", "autocomplete": "off"}

    def to_python(self, value):
        text = super().to_python(value)
        return text if text in self.empty_values else parse_money_text(text)
