"""Context for the metrics panel on the product page, shared by the metric views and the
{% metrics_panel %} template tag."""

from __future__ import annotations

from metrics.forms import MetricCreateForm
from metrics.models import Metric
from metrics.selectors import (
    coverage_from,
    sparklines,
    with_status,
)
from metrics.status import status_from_severity, worst
from portfolio.models import PortfolioSettings
from products.models import Dimension, Product


def panel_context(product: Product, *, can_edit: bool, form=None) -> dict:
    """What the metrics panel shows: three queries however many metrics there are."""
    metrics = list(with_status(Metric.objects.filter(product=product)).order_by("name", "pk"))
    lines = sparklines([m.pk for m in metrics])
    for metric in metrics:
        # Display values hung on each metric for the template.
        metric.status = status_from_severity(metric.severity)  # type: ignore[attr-defined]
        metric.spark = lines.get(metric.pk, [])  # type: ignore[attr-defined]
    # Read, never created here: a page view does not write (the defaults stand in).
    settings = PortfolioSettings.objects.filter(pk=1).first() or PortfolioSettings()
    coverage = coverage_from([m.dimension for m in metrics], settings)
    covered = [label.lower() for value, label in Dimension.choices if value in coverage.dimensions]
    if can_edit and form is None:
        form = MetricCreateForm(auto_id="metric_%s")
    return {
        "product": product,
        "metrics": metrics,
        "health": worst(m.status for m in metrics),  # type: ignore[attr-defined]
        "coverage": coverage,
        "covered": covered,
        "can_edit": can_edit,
        "form": form,
    }
