"""The catalogue of standard metrics a product owner starts from.

Five operational ones say whether the product runs well and how much support it needs; four
business ones say whether it changes anything for the organisation. Each comes with sensible
thresholds that the owner adjusts to the product.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from metrics.models import Better, Level
from products.models import Dimension


@dataclass(frozen=True)
class Template:
    key: str
    name: str
    level: str
    dimension: str
    unit: str
    better: str
    target: float
    warning: float
    critical: float
    interval: dt.timedelta
    description: str

    def unit_for(self, currency: str) -> str:
        return self.unit.replace("{currency}", currency)

    def defaults(self, currency: str = "EUR") -> dict:
        """The fields of a metric made from this template."""
        return {
            "key": self.key,
            "name": self.name,
            "template": self.key,
            "description": self.description,
            "level": self.level,
            "dimension": self.dimension,
            "unit": self.unit_for(currency),
            "better": self.better,
            "target": self.target,
            "warning": self.warning,
            "critical": self.critical,
            "expected_interval": self.interval,
        }


DAY = dt.timedelta(days=1)

TEMPLATES: tuple[Template, ...] = (
    Template(
        "availability",
        "Availability",
        Level.OPERATIONAL,
        Dimension.OPERATIONS,
        "%",
        Better.HIGHER,
        99.9,
        99.5,
        99.0,
        DAY,
        "Share of the agreed service hours in which people could use the product.",
    ),
    Template(
        "response-time",
        "Response time",
        Level.OPERATIONAL,
        Dimension.OPERATIONS,
        "ms",
        Better.LOWER,
        300,
        500,
        1000,
        dt.timedelta(hours=1),
        "How long a typical request takes, as the 95th percentile seen by users.",
    ),
    Template(
        "error-rate",
        "Error rate",
        Level.OPERATIONAL,
        Dimension.OPERATIONS,
        "%",
        Better.LOWER,
        0.5,
        1.0,
        2.0,
        dt.timedelta(hours=1),
        "Share of requests or jobs that fail.",
    ),
    Template(
        "support-tickets",
        "Support ticket volume",
        Level.OPERATIONAL,
        Dimension.SUPPORT,
        "tickets/week",
        Better.LOWER,
        20,
        40,
        60,
        dt.timedelta(weeks=1),
        "Tickets opened about the product in a week; a rise points at a pattern worth fixing.",
    ),
    Template(
        "mttr",
        "Mean time to resolution",
        Level.OPERATIONAL,
        Dimension.SUPPORT,
        "hours",
        Better.LOWER,
        8,
        24,
        48,
        dt.timedelta(weeks=1),
        "Average time from a ticket being opened to it being solved.",
    ),
    Template(
        "cycle-time-reduction",
        "Process cycle-time reduction",
        Level.BUSINESS,
        Dimension.IMPROVEMENT,
        "%",
        Better.HIGHER,
        20,
        10,
        0,
        dt.timedelta(days=30),
        "How much faster the business process the product supports runs than its baseline.",
    ),
    Template(
        "cost-avoidance",
        "Cost avoidance",
        Level.BUSINESS,
        Dimension.IMPROVEMENT,
        "k{currency}/quarter",
        Better.HIGHER,
        100,
        50,
        0,
        dt.timedelta(days=91),
        "Spending the product saved the organisation in the quarter, in thousands.",
    ),
    Template(
        "adoption-rate",
        "User adoption rate",
        Level.BUSINESS,
        Dimension.IMPROVEMENT,
        "%",
        Better.HIGHER,
        80,
        60,
        40,
        dt.timedelta(days=30),
        "Share of the intended users who used the product in the last month.",
    ),
    Template(
        "business-outcome",
        "Business outcome",
        Level.BUSINESS,
        Dimension.IMPROVEMENT,
        "points",
        Better.HIGHER,
        100,
        80,
        60,
        dt.timedelta(days=91),
        "The one result the business bought the product for, scored against its goal; rename it "
        "after that result.",
    ),
)

BY_KEY = {t.key: t for t in TEMPLATES}
TEMPLATE_CHOICES = [(t.key, t.name) for t in TEMPLATES]
