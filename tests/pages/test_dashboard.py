"""The portfolio dashboard: panels read the latest snapshot, filters narrow them in place,
recompute-now shows a run's progress, and the page costs the same queries at any size."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.compute import run_snapshot
from analytics.models import Snapshot, SnapshotStatus
from portfolio.models import PortfolioSettings
from tests.metrics.factories import MetricFactory
from tests.pages.conftest import HTMX
from tests.portfolio.factories import ClusterFactory, PersonFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db


def panel(html: str, name: str) -> str:
    """The markup of one dashboard panel."""
    return html.split(f'id="panel-{name}"')[1].split("</section>")[0]


def bar_count(panel_html: str, label: str) -> str:
    row = panel_html.split(f'<span class="hbar-label">{label}</span>')[1].split("</li>")[0]
    return row.split('class="hbar-count"')[1].split(">")[1].split("<")[0]


@pytest.fixture
def portfolio(db):
    """Ada carries one active and four stable units (over the ceiling); Ben owns a cluster
    with a strategic member; one product has no owner at all; a few metrics, one of them red."""
    ada = PersonFactory(name="Ada Overload")
    ProductFactory(name="Atlas", owner=ada, lifecycle_stage="growth")
    for name in ("Beacon", "Canvas", "Delta", "Echo"):
        ProductFactory(name=name, owner=ada, lifecycle_stage="maturity")
    ben = PersonFactory(name="Ben Cluster")
    finance = ClusterFactory(name="Finance", slug="finance", owner=ben)
    billing = ProductFactory(
        name="Billing", owner=ben, cluster=finance, strategic=True, lifecycle_stage="maturity"
    )
    ProductFactory(name="Invoices", owner=ben, cluster=finance, lifecycle_stage="maturity")
    lost = ProductFactory(name="Lost Ledger", owner=None, lifecycle_stage="retirement")
    now = timezone.now()
    MetricFactory(product=billing, last_value=98.0, last_read_at=now)  # red
    MetricFactory(product=billing, last_value=99.95, last_read_at=now)  # green
    MetricFactory(product=lost)  # no data
    return {"ada": ada, "ben": ben, "finance": finance, "billing": billing, "lost": lost}


def test_home_leads_a_leader_to_the_dashboard(leader_client):
    response = leader_client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")


def test_without_a_snapshot_the_dashboard_says_so(viewer_client, leader_client):
    html = viewer_client.get(reverse("dashboard")).content.decode()
    assert "No analytics yet" in html
    assert reverse("analytics-recompute") not in html  # viewers cannot ask for a run
    leader_html = leader_client.get(reverse("dashboard")).content.decode()
    assert "No analytics yet" in leader_html
    assert f'action="{reverse("analytics-recompute")}"' in leader_html


def test_panels_show_the_latest_snapshot(viewer_client, portfolio):
    snapshot = run_snapshot()
    html = viewer_client.get(reverse("dashboard")).content.decode()
    as_of = timezone.localtime(snapshot.started_at).strftime("%H:%M, %-d %b")
    assert f"as of {as_of}" in html

    stages = panel(html, "stages")
    # Ada's five units, Finance (maturity by its members) and Lost Ledger; the bars count
    # products: Ada's four in maturity and Finance's two.
    assert "7 units, 2 actively evolving" in stages
    assert bar_count(stages, "Growth") == "1"
    assert bar_count(stages, "Maturity") == "6"
    assert bar_count(stages, "Retirement") == "1"
    assert bar_count(stages, "Introduction") == "0"
    assert "/products/?stage=maturity" in stages

    coverage = panel(html, "coverage")
    assert "<strong>6</strong> of 7 units have an accountable owner" in coverage
    assert "Lost Ledger" in coverage and "no owner named" in coverage
    assert "/products/?owner=none" in coverage

    load = panel(html, "load")
    assert bar_count(load, "Over") == "1"
    assert bar_count(load, "OK") == "1"
    row = load.split("Ada Overload")[1].split("</tr>")[0]
    assert [c.split("<")[0] for c in row.split('class="num">')[1:]] == ["1", "4"]
    assert "<td>1 snapshot</td>" in row
    assert reverse("person-detail", args=[portfolio["ada"].pk]) in load
    assert "Ben Cluster" not in load

    signals = panel(html, "signals")
    assert "Strategic significance" in signals and "Billing" in signals and "Finance" in signals
    assert "Billing is flagged strategic" in signals
    assert "1 open signal" in signals

    candidates = panel(html, "candidates")
    assert "Lost Ledger" in candidates and "No owner" in candidates

    metrics = panel(html, "metrics")
    assert "3 metrics across the whole portfolio" in metrics
    assert '<a href="/metrics/?status=red" data-count="1">1 red</a>' in metrics
    assert '<a href="/metrics/?status=no_data" data-count="1">1 no data</a>' in metrics

    reviews = panel(html, "reviews")
    assert "No review is overdue, and none is due in the next 14 days." in reviews


def test_filters_narrow_the_panels_in_place(viewer_client, portfolio):
    run_snapshot()
    url = reverse("dashboard") + "?cluster=finance"
    response = viewer_client.get(url, headers=HTMX)
    html = response.content.decode()
    assert "HX-Request" in response["Vary"]
    assert html.lstrip().startswith('<div id="dashboard-panels">')  # only the panels
    stages = panel(html, "stages")
    assert "1 unit, 0 actively evolving" in stages
    assert bar_count(stages, "Maturity") == "2"  # Billing and Invoices
    assert "cluster=finance" in stages
    assert "Ada Overload" not in panel(html, "load")
    assert "Billing" in panel(html, "signals")
    assert "Lost Ledger" not in panel(html, "candidates")

    by_owner = viewer_client.get(
        reverse("dashboard") + f"?owner={portfolio['ada'].pk}&stage=maturity"
    ).content.decode()
    stages = panel(by_owner, "stages")
    assert "4 units, 0 actively evolving" in stages
    assert bar_count(stages, "Growth") == "0"
    assert "Ada Overload" in panel(by_owner, "load")
    assert "No open split signals here" in panel(by_owner, "signals")
    assert "<strong>4</strong> of 4 units" in panel(by_owner, "coverage")


def test_the_filter_bar_offers_every_cluster_and_owner_and_keeps_the_choice(
    viewer_client, portfolio
):
    run_snapshot()
    ada = portfolio["ada"]
    html = viewer_client.get(reverse("dashboard") + f"?owner={ada.pk}&cluster=finance").content
    bar = html.decode().split('id="dashboard-filters"')[1].split("</form>")[0]
    clusters = bar.split('name="cluster"')[1].split("</select>")[0].split(">", 1)[1]
    owners = bar.split('name="owner"')[1].split("</select>")[0].split(">", 1)[1]
    assert clusters == (
        '<option value="">All clusters</option><option value="finance" selected>Finance</option>'
    )
    # owners of an active unit only, by name, the chosen one marked
    assert owners == (
        '<option value="">All owners</option>'
        f'<option value="{ada.pk}" selected>Ada Overload</option>'
        f'<option value="{portfolio["ben"].pk}">Ben Cluster</option>'
    )


def test_an_unknown_filter_value_is_shown_and_ignored(viewer_client, portfolio):
    run_snapshot()
    html = viewer_client.get(reverse("dashboard") + "?cluster=nope").content.decode()
    assert "Some filters could not be read" in html
    assert "7 units" in panel(html, "stages")


def test_candidates_shown_comes_from_the_settings(viewer_client, portfolio):
    for i in range(4):
        ProductFactory(name=f"Orphan {i}", owner=None)
    settings = PortfolioSettings.load()
    settings.candidates_shown = 2
    settings.save()
    run_snapshot()
    candidates = panel(viewer_client.get(reverse("dashboard")).content.decode(), "candidates")
    assert candidates.count("<li>") == 2


def test_trend_of_owners_over_the_ceiling(viewer_client, portfolio):
    run_snapshot()
    run_snapshot()
    load = panel(viewer_client.get(reverse("dashboard")).content.decode(), "load")
    assert '<svg class="count-line"' in load
    assert "last 2 snapshots" in load


# --- recompute now -------------------------------------------------------------------------


def test_leader_recomputes_and_the_progress_route_says_done(
    leader_client, portfolio, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = leader_client.post(reverse("analytics-recompute"), headers=HTMX)
    assert response.status_code == 200
    run = Snapshot.objects.get()
    assert f'hx-get="{reverse("analytics-run", args=[run.pk])}"' in response.content.decode()
    assert 'hx-trigger="every 1s"' in response.content.decode()
    assert run.status == SnapshotStatus.DONE  # eager Celery ran it on commit

    progress = leader_client.get(reverse("analytics-run", args=[run.pk]), headers=HTMX)
    html = progress.content.decode()
    assert "Done." in html and "every 1s" not in html
    assert f'hx-get="{reverse("dashboard")}"' in html  # reloads the panels
    assert 'hx-include="#dashboard-filters"' in html
    dashboard = leader_client.get(reverse("dashboard")).content.decode()
    assert "No analytics yet" not in dashboard


def test_plain_post_redirects_to_the_dashboard_which_polls_the_run(leader_client, portfolio):
    response = leader_client.post(reverse("analytics-recompute"))
    assert response.status_code == 302
    run = Snapshot.objects.get()  # on_commit has not run inside the test transaction
    html = leader_client.get(reverse("dashboard")).content.decode()
    assert f'hx-get="{reverse("analytics-run", args=[run.pk])}"' in html
    assert "Recomputing the analytics" in html


def test_running_run_shows_its_step(viewer_client):
    run = Snapshot.objects.create(
        started_at=timezone.now(), steps=9, step=3, step_label="Backlog crowding"
    )
    html = viewer_client.get(reverse("analytics-run", args=[run.pk]), headers=HTMX).content
    assert b"Step 3 of 9: Backlog crowding" in html
    assert b'hx-trigger="every 1s"' in html


def test_failed_run_shows_its_error(viewer_client):
    run = Snapshot.objects.create(
        started_at=timezone.now() - dt.timedelta(minutes=1),
        finished_at=timezone.now(),
        status=SnapshotStatus.FAILED,
        error="The task queue could not be reached (ConnectionError); try again.",
    )
    html = viewer_client.get(reverse("analytics-run", args=[run.pk])).content.decode()
    assert "The run failed." in html and "could not be reached" in html


@pytest.mark.parametrize("who", ["viewer_client", "owner_client"])
def test_only_leaders_recompute(who, request, django_capture_on_commit_callbacks):
    client = request.getfixturevalue(who)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("analytics-recompute"), headers=HTMX)
    assert response.status_code == 403
    assert not Snapshot.objects.exists()


def test_owner_load_list_drills_down_by_status(viewer_client, portfolio):
    run_snapshot()
    html = viewer_client.get(reverse("owner-load-list") + "?status=over").content.decode()
    assert "1 owner" in html and "Ada Overload" in html and "Ben Cluster" not in html


# --- query count ---------------------------------------------------------------------------


def _portfolio_of(n: int) -> None:
    """`n` copies of every situation the panels show: an owner over the ceiling, a cluster
    with a strategic member, an orphan, metrics in several states."""
    now = timezone.now()
    for i in range(n):
        person = PersonFactory(name=f"Owner {i}")
        ProductFactory(owner=person, lifecycle_stage="growth")
        for _ in range(4):
            ProductFactory(owner=person)
        cluster = ClusterFactory(owner=PersonFactory())
        member = ProductFactory(owner=None, cluster=cluster, strategic=True)
        ProductFactory(owner=None, cluster=cluster)
        orphan = ProductFactory(owner=None, lifecycle_stage="introduction")
        MetricFactory(product=member, last_value=98.0, last_read_at=now)
        MetricFactory(product=orphan)


# Session, user and group; the filter bar's clusters and owners; the settings; the trend (its
# newest row is the latest snapshot) and any run under way; units grouped; one statement counts
# the products the stage and orphan links list; the first orphans; owners by status and the
# first over; the open signals with their window count; candidates; the metrics by their live
# status; the reviews due per cycle.
DASHBOARD_QUERIES = 17


@pytest.mark.parametrize("size", [1, 12])
@pytest.mark.parametrize("query", ["", "?stage=maturity&cluster={slug}&owner={owner}"])
def test_dashboard_query_count_is_fixed(size, query, leader_client, django_assert_num_queries):
    _portfolio_of(size)
    run_snapshot()
    run_snapshot()
    from products.models import Cluster, Person

    query = query.format(slug=Cluster.objects.first().slug, owner=Person.objects.first().pk)
    expected = DASHBOARD_QUERIES + (2 if query else 0)  # the filters' own lookups
    with django_assert_num_queries(expected):
        response = leader_client.get(reverse("dashboard") + query)
    assert response.status_code == 200
    assert expected <= 22


# --- settings page and nav -----------------------------------------------------------------


def test_settings_explain_each_rule_and_the_analytics_schedule(viewer_client, settings):
    settings.ANALYTICS_EVERY_MINUTES = 30
    html = viewer_client.get(reverse("settings")).content.decode()
    assert "Owner ceiling: an owner may carry 1 actively evolving unit and 3 stable" in html
    assert "Design problem: an owner over the ceiling in 2 snapshots in a row" in html
    assert "more than 60% of the open estimate (or of the top 20 items)" in html
    assert "more than 50% and more than 2 times its fair share" in html
    assert "Strategic significance: a cluster member flagged strategic" in html
    assert "the dashboard ranks the top 5" in html
    assert "with 3 to 5 metrics" in html and "Stale: a metric with no reading for 2 times" in html
    assert "The analytics run every 30 minutes" in html
    assert "No run has finished yet." in html
    snapshot = run_snapshot()
    html = viewer_client.get(reverse("settings")).content.decode()
    as_of = timezone.localtime(snapshot.started_at).strftime("%H:%M, %-d %b")
    assert f"The last finished run is as of {as_of}." in html


def test_nav_starts_with_the_dashboard_and_lists_signals(viewer_client):
    html = viewer_client.get(reverse("split-signal-list")).content.decode()
    nav = html.split('aria-label="Main"')[1].split("</nav>")[0]
    assert nav.index(reverse("dashboard")) < nav.index(reverse("product-list"))
    assert f'href="{reverse("split-signal-list")}" aria-current="page"' in nav
