"""Every edit page carries the version it was rendered from; a save made on a stale page shows
the stored values beside the typed ones (409) and changes nothing. A new `*-edit` route
without a case here fails `test_every_edit_page_is_covered`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from backlog import services as backlog_services
from funding import services as funding_services
from funding.models import FundingAllocation
from metrics import services as metrics_services
from portfolio import services as portfolio_services
from portfolio.models import PortfolioSettings
from products import services as product_services
from tests.backlog.factories import BacklogItemFactory
from tests.metrics.factories import MetricFactory
from tests.permissions.spec import World
from tests.permissions.test_matrix import _route_names


class FormValues(HTMLParser):
    """The values a browser would submit for the page's forms (the last form wins per name)."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, list[str]] = {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and name != "csrfmiddlewaretoken":
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.values.setdefault(name, []).append(a.get("value") or "on")
            elif kind not in ("submit", "button", "file"):
                self.values[name] = [a.get("value") or ""]
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name] = [""]
        elif tag == "select" and name:
            self._select = name
            self.values[name] = []
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select].append(a.get("value") or "")

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea][0] += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea:
            # A browser drops the newline that follows <textarea>.
            text = self.values[self._textarea][0]
            self.values[self._textarea][0] = text[1:] if text.startswith("\n") else text
            self._textarea = None
        elif tag == "select":
            self._select = None


def _form_of(html: str) -> dict[str, list[str]]:
    parser = FormValues()
    parser.feed(html)
    return parser.values


@dataclass
class EditPage:
    """An edit page, the field a person changes there, and another write made meanwhile."""

    url: Callable[[World], str]
    field: str
    typed: str
    meanwhile: Callable[[World], Any]  # someone else's save through the service
    read: Callable[[World], Any]  # the stored value of the field
    post_field: str | None = None  # the field's name in the form, if it is prefixed


def _item(w: World):
    if "_item" not in w.__dict__:
        w.__dict__["_item"] = BacklogItemFactory(product=w.product, title="Faster payslips")
    return w.__dict__["_item"]


def _metric(w: World):
    if "_metric" not in w.__dict__:
        w.__dict__["_metric"] = MetricFactory(product=w.product, key="availability")
    return w.__dict__["_metric"]


PAGES: dict[str, EditPage] = {
    "product-edit": EditPage(
        lambda w: reverse("product-edit", args=[w.product.slug]),
        "description",
        "Mine",
        lambda w: product_services.product_update(
            actor=w.leader, product=w.product, description="Theirs"
        ),
        lambda w: type(w.product).objects.get(pk=w.product.pk).description,
    ),
    "cluster-edit": EditPage(
        lambda w: reverse("cluster-edit", args=[w.cluster.slug]),
        "description",
        "Mine",
        lambda w: product_services.cluster_update(
            actor=w.leader, cluster=w.cluster, description="Theirs"
        ),
        lambda w: type(w.cluster).objects.get(pk=w.cluster.pk).description,
    ),
    "person-edit": EditPage(
        lambda w: reverse("person-edit", args=[w.owner_person.pk]),
        "title",
        "Mine",
        lambda w: product_services.person_update(
            actor=w.leader, person=w.owner_person, title="Theirs"
        ),
        lambda w: type(w.owner_person).objects.get(pk=w.owner_person.pk).title,
    ),
    "team-edit": EditPage(
        lambda w: reverse("team-edit", args=[w.team.slug]),
        "description",
        "Mine",
        lambda w: product_services.team_update(actor=w.leader, team=w.team, description="Theirs"),
        lambda w: type(w.team).objects.get(pk=w.team.pk).description,
    ),
    "metric-edit": EditPage(
        lambda w: reverse("metric-edit", args=[_metric(w).pk]),
        "description",
        "Mine",
        lambda w: metrics_services.metric_update(
            actor=w.leader, metric=_metric(w), description="Theirs"
        ),
        lambda w: type(_metric(w)).objects.get(pk=_metric(w).pk).description,
    ),
    "settings": EditPage(
        lambda w: reverse("settings"),
        "max_stable_units",
        "7",
        lambda w: portfolio_services.portfolio_settings_update(actor=w.leader, max_stable_units=5),
        lambda w: str(PortfolioSettings.load().max_stable_units),
    ),
    "backlog-edit": EditPage(
        lambda w: reverse("backlog-edit", args=[_item(w).pk]),
        "title",
        "Mine",
        lambda w: backlog_services.backlog_item_update(
            actor=w.leader, item=_item(w), title="Theirs"
        ),
        lambda w: type(_item(w)).objects.get(pk=_item(w).pk).title,
    ),
}


def test_every_edit_page_is_covered():
    edits = {n for n in _route_names() if n.endswith("-edit")} | {"settings"}
    assert edits == set(PAGES)


def _leader(w: World) -> Client:
    client = Client()
    client.force_login(w.leader)
    return client


@pytest.mark.parametrize("name", sorted(PAGES))
def test_a_save_on_a_stale_page_shows_both_values_and_changes_nothing(world, name):
    page = PAGES[name]
    client, url = _leader(world), page.url(world)
    opened = client.get(url)
    assert opened.status_code == 200
    values = _form_of(opened.content.decode())
    assert "version" in values  # the version the page was rendered from
    key = page.post_field or page.field
    values[key] = [page.typed]
    page.meanwhile(world)  # someone else saves first
    theirs = page.read(world)

    stale = client.post(url, values)

    assert stale.status_code == 409
    html = stale.content.decode()
    assert page.typed in html and str(theirs) in html  # both, side by side
    assert "stale_version" not in html  # no internal rule name on a page
    assert "Changed by leader" in html and "since you opened it" in html
    assert page.read(world) == theirs  # nothing overwritten
    # Re-apply: the conflict form now carries the stored version; sending it saves mine.
    again = _form_of(html)
    assert again[key] == [page.typed]  # nothing typed was lost
    reapplied = client.post(url, again)
    assert reapplied.status_code in (200, 302), reapplied.content.decode()[:500]
    assert str(page.read(world)) == page.typed


def test_the_conflict_names_who_changed_it_and_offers_discard(world):
    client, url = _leader(world), reverse("person-edit", args=[world.owner_person.pk])
    values = _form_of(client.get(url).content.decode())
    values["title"] = ["Mine"]
    product_services.person_update(actor=world.leader, person=world.owner_person, title="Theirs")

    html = client.post(url, values).content.decode()

    assert "Not saved: this changed after you opened it." in html
    assert "Changed by leader 0\xa0minutes ago" in html
    assert "since you opened it." in html
    assert "Re-apply my changes" in html
    assert f'href="{url}"' in html and "Discard mine" in html


def test_a_stale_allocation_save_shows_both_amounts_and_keeps_the_stored_one(world):
    """The funding panel's allocation form replaces a stored allocation: it carries that
    allocation's version, so a leader saving over a newer allocation sees the conflict."""
    unit, year = world.product.unit, funding_services.current_fiscal_year()
    funding_services.allocation_set(
        actor=world.leader,
        unit=unit,
        fiscal_year=year,
        operations_amount="100",
        improvement_amount="1000",
    )
    client = _leader(world)
    panel = client.get(reverse("funding-unit", args=[unit.pk]), {"year": year})
    values = _form_of(panel.content.decode())
    assert values["version"] == [str(FundingAllocation.objects.get(unit=unit).version)]
    values["improvement_amount"] = ["3000"]
    funding_services.allocation_set(  # another leader saves first
        actor=world.leader,
        unit=unit,
        fiscal_year=year,
        operations_amount="100",
        improvement_amount="2000",
    )
    url = reverse("funding-unit-allocation", args=[unit.pk])

    stale = client.post(url, values)

    assert stale.status_code == 409
    html = stale.content.decode()
    assert "3000" in html and "2000.00" in html
    assert FundingAllocation.objects.get(unit=unit).improvement_amount == Decimal("2000")
    again = _form_of(html)
    assert again["improvement_amount"] == ["3000"]
    assert client.post(url, again).status_code in (200, 302)
    assert FundingAllocation.objects.get(unit=unit).improvement_amount == Decimal("3000")
