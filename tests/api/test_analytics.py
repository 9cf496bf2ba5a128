"""/api/v1/owner-load/, split-signals/, candidates/, readiness/ and analytics-runs/: the latest
finished snapshot's signals, with its time, and the leaders' "recompute now"."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.compute import run_snapshot
from analytics.models import Snapshot, SnapshotStatus, SplitSignal
from analytics.services import split_signal_act, split_signal_dismiss
from tests.api.conftest import client_for
from tests.portfolio.factories import ClusterFactory, PersonFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()
OWNER_LOAD = reverse("api-owner-load-list")
SIGNALS = reverse("api-split-signal-list")
CANDIDATES = reverse("api-candidate-list")
READINESS = reverse("api-readiness-list")
RUNS = reverse("api-analytics-run-list")
LISTS = [OWNER_LOAD, SIGNALS, CANDIDATES, READINESS]


def owner_load(person_id: int) -> str:
    return reverse("api-owner-load-detail", args=[person_id])


def signal_url(pk: int) -> str:
    return reverse("api-split-signal-detail", args=[pk])


def run_url(pk: int) -> str:
    return reverse("api-analytics-run-detail", args=[pk])


def as_of(snapshot: Snapshot) -> dict:
    return {
        "id": snapshot.pk,
        "started_at": snapshot.started_at,
        "finished_at": snapshot.finished_at,
    }


def parsed(ref: dict | None) -> dict | None:
    if ref is None:
        return None
    return {
        "id": ref["id"],
        "started_at": dt.datetime.fromisoformat(ref["started_at"]),
        "finished_at": dt.datetime.fromisoformat(ref["finished_at"]),
    }


def by(rows: list[dict], key: str) -> dict:
    return {row[key]: row for row in rows}


@pytest.fixture
def portfolio(owner_person, product, cluster):
    """Bea triages two active units that share users; Olivia owns Payroll and a cluster with a
    strategic member; Legacy CRM has no owner, nor has the Archive cluster."""
    bea = PersonFactory(name="Bea Busy", email="bea@example.org")
    ledger = ProductFactory(
        name="Ledger", slug="ledger", owner=bea, lifecycle_stage="growth", user_groups="Finance"
    )
    mobile = ProductFactory(
        name="Ledger Mobile",
        slug="ledger-mobile",
        owner=bea,
        lifecycle_stage="introduction",
        user_groups="Finance",
    )
    core = ProductFactory(name="Core HR", slug="core-hr", cluster=cluster, strategic=True)
    onboarding = ProductFactory(name="Onboarding", slug="onboarding", cluster=cluster)
    crm = ProductFactory(name="Legacy CRM", slug="legacy-crm", owner=None)
    archive = ClusterFactory(name="Archive", slug="archive")
    old = ProductFactory(name="Old archive", slug="old-archive", cluster=archive)
    return {
        "bea": bea,
        "olivia": owner_person,
        "ledger": ledger,
        "mobile": mobile,
        "payroll": product,
        "cluster": cluster,
        "core": core,
        "onboarding": onboarding,
        "crm": crm,
        "archive": archive,
        "old": old,
    }


@pytest.fixture
def snapshots(portfolio):
    """Two runs an hour apart: Bea is over in both, so hers is a design problem."""
    first = run_snapshot(now=NOW - dt.timedelta(hours=1))
    second = run_snapshot(now=NOW)
    return first, second


# --- No snapshot yet -----------------------------------------------------------------------------


@pytest.mark.parametrize("url", LISTS)
def test_without_a_finished_snapshot_lists_are_empty_and_say_so(url, viewer, portfolio):
    # given a run under way, none finished
    Snapshot.objects.create(started_at=NOW)

    response = client_for(viewer).get(url)

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["snapshot", "count", "next", "previous", "results"]
    assert body["snapshot"] is None
    assert body["count"] == 0
    assert body["results"] == []


def test_without_a_snapshot_an_owner_has_no_load(viewer, portfolio):
    assert client_for(viewer).get(owner_load(portfolio["bea"].pk)).status_code == 404


# --- Owner load ----------------------------------------------------------------------------------


def test_owner_load_lists_each_owner_with_units_and_the_snapshot(viewer, portfolio, snapshots):
    first, second = snapshots
    Snapshot.objects.create(started_at=NOW + dt.timedelta(minutes=5))  # running: not used

    response = client_for(viewer).get(OWNER_LOAD)

    assert response.status_code == 200
    body = response.json()
    assert parsed(body["snapshot"]) == as_of(second)
    assert body["count"] == 2
    assert [r["name"] for r in body["results"]] == ["Bea Busy", "Olivia Owner"]
    bea, olivia = body["results"]
    ledger, mobile = portfolio["ledger"], portfolio["mobile"]
    assert bea == {
        "person": portfolio["bea"].pk,
        "name": "Bea Busy",
        "email": "bea@example.org",
        "active_units": 2,
        "stable_units": 0,
        "status": "triaging",
        "consecutive_over": 2,
        "design_problem": True,
        "suggestions": [
            {
                "units": ["Ledger", "Ledger Mobile"],
                "unit_ids": [ledger.unit_id, mobile.unit_id],
                "why": ["same users: finance"],
            }
        ],
        "units": [
            {
                "id": ledger.unit_id,
                "name": "Ledger",
                "active": True,
                "reasons": ["Ledger: in growth"],
            },
            {
                "id": mobile.unit_id,
                "name": "Ledger Mobile",
                "active": True,
                "reasons": ["Ledger Mobile: in introduction"],
            },
        ],
    }
    assert (olivia["status"], olivia["active_units"], olivia["stable_units"]) == ("ok", 0, 2)
    assert (olivia["consecutive_over"], olivia["design_problem"]) == (0, False)
    assert olivia["suggestions"] == []
    assert [(u["name"], u["active"], u["reasons"]) for u in olivia["units"]] == [
        ("Employee experience", False, []),
        ("Payroll", False, []),
    ]


def test_one_owners_load_carries_the_snapshot(viewer, portfolio, snapshots):
    response = client_for(viewer).get(owner_load(portfolio["olivia"].pk))

    assert response.status_code == 200
    body = response.json()
    assert parsed(body["snapshot"]) == as_of(snapshots[1])
    assert (body["name"], body["status"], len(body["units"])) == ("Olivia Owner", "ok", 2)
    # someone who owns nothing has no load
    assert client_for(viewer).get(owner_load(portfolio["crm"].pk + 10**6)).status_code == 404


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ({"status": "triaging"}, ["Bea Busy"]),
        ({"status": ["ok", "triaging"]}, ["Bea Busy", "Olivia Owner"]),
        ({"status": "over"}, []),
        ({"design_problem": "true"}, ["Bea Busy"]),
        ({"design_problem": "false"}, ["Olivia Owner"]),
        ({"person": "olivia"}, ["Olivia Owner"]),
    ],
)
def test_owner_load_filters(query, names, viewer, portfolio, snapshots):
    if query.get("person") == "olivia":
        query = {"person": portfolio["olivia"].pk}

    response = client_for(viewer).get(OWNER_LOAD, query)

    assert response.status_code == 200
    assert [r["name"] for r in response.json()["results"]] == names


# --- Split signals -------------------------------------------------------------------------------


def test_split_signals_with_evidence_times_and_the_latest_snapshot(viewer, portfolio, snapshots):
    first, second = snapshots

    response = client_for(viewer).get(SIGNALS)

    assert response.status_code == 200
    body = response.json()
    assert parsed(body["snapshot"]) == as_of(second)
    signal = SplitSignal.objects.get()
    (row,) = body["results"]
    assert row == {
        "id": signal.pk,
        "cluster": "employee-experience",
        "cluster_name": "Employee experience",
        "kind": "strategic",
        "product": "core-hr",
        "product_name": "Core HR",
        "status": "open",
        "evidence": signal.evidence,
        "opened_at": row["opened_at"],
        "last_seen_at": row["last_seen_at"],
        "closed_at": None,
        "closed_by": None,
        "close_note": "",
        "new_owner": None,
        "split_product": None,
    }
    assert signal.evidence["reasons"] == ["flagged strategic"]
    assert dt.datetime.fromisoformat(row["opened_at"]) == first.started_at
    assert dt.datetime.fromisoformat(row["last_seen_at"]) == second.started_at


def test_a_split_signal_names_who_closed_it_and_the_new_owner(
    viewer, leader, other_owner_person, portfolio, snapshots
):
    signal = SplitSignal.objects.get()
    split_signal_act(actor=leader, signal=signal, new_owner=other_owner_person, note="Own it")

    response = client_for(viewer).get(signal_url(signal.pk))

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["closed_by"], body["close_note"]) == ("split", "leader", "Own it")
    assert body["new_owner"] == other_owner_person.pk
    assert body["split_product"] == signal.product.slug
    assert body["closed_at"] is not None
    assert parsed(body["snapshot"]) == as_of(snapshots[1])
    assert client_for(viewer).get(signal_url(signal.pk + 1000)).status_code == 404


@pytest.fixture
def three_signals(leader, portfolio, snapshots):
    """The open strategic one, a dismissed one and a cleared one in the Archive cluster."""
    other = portfolio["archive"]
    dismissed = SplitSignal.objects.create(
        cluster=other, kind="dominance", product=portfolio["old"], opened_at=NOW
    )
    split_signal_dismiss(actor=leader, signal=dismissed, note="On purpose")
    SplitSignal.objects.create(
        cluster=other, kind="crowding", product=portfolio["old"], opened_at=NOW, status="cleared"
    )
    return dismissed


@pytest.mark.parametrize(
    ("query", "kinds"),
    [
        ({}, ["crowding", "dominance", "strategic"]),  # every status by default
        ({"status": "open"}, ["strategic"]),
        ({"status": ["dismissed", "cleared"]}, ["crowding", "dominance"]),
        ({"kind": "dominance"}, ["dominance"]),
        ({"cluster": "archive"}, ["crowding", "dominance"]),
        ({"cluster": "cluster-id"}, ["strategic"]),
        ({"product": "core-hr"}, ["strategic"]),
        ({"product": "old-archive", "status": "dismissed"}, ["dominance"]),
    ],
)
def test_split_signal_filters(query, kinds, viewer, portfolio, three_signals):
    if query.get("cluster") == "cluster-id":
        query = {"cluster": portfolio["cluster"].pk}

    response = client_for(viewer).get(SIGNALS, query)

    assert response.status_code == 200
    assert [r["kind"] for r in response.json()["results"]] == kinds


def test_a_dismissed_signal_says_who_and_why(viewer, three_signals):
    body = client_for(viewer).get(signal_url(three_signals.pk)).json()
    assert (body["status"], body["closed_by"], body["close_note"]) == (
        "dismissed",
        "leader",
        "On purpose",
    )
    assert body["last_seen_at"] is None  # never observed by a snapshot


# --- Candidates ----------------------------------------------------------------------------------


def test_candidates_in_rank_order_with_reasons(viewer, portfolio, snapshots):
    response = client_for(viewer).get(CANDIDATES)

    assert response.status_code == 200
    body = response.json()
    assert parsed(body["snapshot"]) == as_of(snapshots[1])
    assert body["results"] == [
        {
            "rank": 1,
            "product": "legacy-crm",
            "name": "Legacy CRM",
            "unit": portfolio["crm"].unit_id,
            "score": 6,
            "reasons": ["No owner"],
        },
        {
            "rank": 2,
            "product": "old-archive",
            "name": "Old archive",
            "unit": portfolio["archive"].unit.pk,
            "score": 6,
            "reasons": ["No owner"],
        },
    ]


@pytest.mark.parametrize(
    ("query", "products"),
    [
        ({"top": 1}, ["legacy-crm"]),
        ({"top": 5}, ["legacy-crm", "old-archive"]),
        ({"cluster": "archive"}, ["old-archive"]),
        ({"cluster": "archive", "top": 1}, ["old-archive"]),  # the top of what is left
        ({"cluster": "employee-experience"}, []),
    ],
)
def test_candidate_filters(query, products, viewer, snapshots):
    response = client_for(viewer).get(CANDIDATES, query)

    assert response.status_code == 200
    body = response.json()
    assert [r["product"] for r in body["results"]] == products
    assert body["count"] == len(products)


def test_candidates_by_cluster_id(viewer, portfolio, snapshots):
    response = client_for(viewer).get(CANDIDATES, {"cluster": portfolio["archive"].pk})
    assert [r["product"] for r in response.json()["results"]] == ["old-archive"]


# --- Readiness -----------------------------------------------------------------------------------


def test_readiness_per_product_with_each_check(viewer, portfolio, snapshots):
    ledger = portfolio["ledger"]
    ledger.key_use_cases = "Book invoices"
    ledger.save()
    snapshot = run_snapshot(now=NOW + dt.timedelta(minutes=1))

    response = client_for(viewer).get(READINESS)

    assert response.status_code == 200
    body = response.json()
    assert parsed(body["snapshot"]) == as_of(snapshot)
    rows = by(body["results"], "product")
    assert list(rows) == [
        "core-hr",
        "ledger",
        "ledger-mobile",
        "legacy-crm",
        "old-archive",
        "onboarding",
        "payroll",
    ]
    assert rows["ledger"] == {
        "product": "ledger",
        "product_name": "Ledger",
        "checks": {
            "owner_named": True,
            "users_documented": False,  # groups named, but no user count
            "use_cases_documented": True,
            "backlog_started": False,
            "metrics_covered": False,
            "review_scheduled": False,
        },
        "score": 33,  # two of the six checks
    }
    assert rows["legacy-crm"]["checks"]["owner_named"] is False
    assert rows["legacy-crm"]["score"] == 0
    assert rows["payroll"]["score"] == 17


@pytest.mark.parametrize(
    ("query", "products"),
    [
        ({"product": "payroll"}, ["payroll"]),
        ({"min_score": 33}, ["ledger"]),
        ({"max_score": 0}, ["legacy-crm", "old-archive"]),
        ({"min_score": 17, "max_score": 17}, ["core-hr", "ledger-mobile", "onboarding", "payroll"]),
    ],
)
def test_readiness_filters(query, products, viewer, portfolio, snapshots):
    portfolio["ledger"].key_use_cases = "Book invoices"
    portfolio["ledger"].save()
    run_snapshot(now=NOW + dt.timedelta(minutes=1))

    response = client_for(viewer).get(READINESS, query)

    assert response.status_code == 200
    assert [r["product"] for r in response.json()["results"]] == products


def test_readiness_by_product_id(viewer, portfolio, snapshots):
    response = client_for(viewer).get(READINESS, {"product": portfolio["payroll"].pk})
    assert [r["product"] for r in response.json()["results"]] == ["payroll"]


# --- Bad filter values ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "query", "field"),
    [
        (OWNER_LOAD, {"status": "overloaded"}, "status"),
        (OWNER_LOAD, {"design_problem": "maybe"}, "design_problem"),
        (OWNER_LOAD, {"person": "bea"}, "person"),
        (OWNER_LOAD, {"person": "9" * 19}, "person"),
        (SIGNALS, {"status": "closed"}, "status"),
        (SIGNALS, {"kind": "size"}, "kind"),
        (SIGNALS, {"cluster": "no such/cluster"}, "cluster"),
        (SIGNALS, {"product": "x" * 161}, "product"),
        (CANDIDATES, {"top": "0"}, "top"),
        (CANDIDATES, {"top": "five"}, "top"),
        (CANDIDATES, {"top": "1.5"}, "top"),
        (CANDIDATES, {"cluster": "a b"}, "cluster"),
        (READINESS, {"min_score": "101"}, "min_score"),
        (READINESS, {"max_score": "-1"}, "max_score"),
        (READINESS, {"min_score": "60", "max_score": "40"}, "max_score"),
        (READINESS, {"product": "a b"}, "product"),
        (RUNS, {"status": "queued"}, "status"),
    ],
)
def test_a_bad_filter_value_is_400_naming_the_field(url, query, field, viewer, snapshots):
    response = client_for(viewer).get(url, query)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["errors"]) == [field]


# --- Runs ----------------------------------------------------------------------------------------


def test_a_leader_asks_for_a_run_and_follows_it_to_done(
    leader, viewer, portfolio, django_capture_on_commit_callbacks
):
    # when a leader asks (the task runs eagerly once the request commits)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(leader).post(RUNS)

    # then the answer is the queued run and where to follow it
    assert response.status_code == 202
    body = response.json()
    snapshot = Snapshot.objects.get()
    assert response["Location"] == run_url(snapshot.pk)
    assert (body["id"], body["trigger"], body["requested_by"]) == (snapshot.pk, "manual", "leader")
    assert set(body) == {
        "id",
        "status",
        "trigger",
        "step",
        "steps",
        "step_label",
        "started_at",
        "finished_at",
        "requested_by",
        "error",
    }
    # and the run finished: its progress says done, and the lists answer from it
    snapshot.refresh_from_db()
    assert snapshot.status == SnapshotStatus.DONE
    progress = client_for(viewer).get(run_url(snapshot.pk)).json()
    assert progress["status"] == "done"
    assert progress["step"] == progress["steps"] > 0
    assert dt.datetime.fromisoformat(progress["finished_at"]) == snapshot.finished_at
    assert client_for(viewer).get(OWNER_LOAD).json()["snapshot"]["id"] == snapshot.pk


def test_asking_while_a_run_is_under_way_answers_that_run(leader):
    running = Snapshot.objects.create(started_at=timezone.now(), step_label="Queued")

    response = client_for(leader).post(RUNS)

    assert response.status_code == 202
    assert (response.json()["id"], response.json()["status"]) == (running.pk, "running")
    assert Snapshot.objects.count() == 1


@pytest.mark.parametrize("role", ["viewer", "owner"])
def test_only_leaders_ask_for_a_run(role, request, django_capture_on_commit_callbacks):
    user = request.getfixturevalue(role)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client_for(user).post(RUNS)

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert not Snapshot.objects.exists()
    assert callbacks == []


def test_runs_newest_first_with_status_filter(viewer, leader):
    old = Snapshot.objects.create(
        started_at=NOW - dt.timedelta(hours=2),
        finished_at=NOW - dt.timedelta(hours=2),
        status="done",
    )
    failed = Snapshot.objects.create(
        started_at=NOW - dt.timedelta(hours=1), status="failed", error="Boom"
    )
    mine = Snapshot.objects.create(started_at=NOW, trigger="manual", requested_by=leader)
    client = client_for(viewer)

    body = client.get(RUNS).json()

    assert [r["id"] for r in body["results"]] == [mine.pk, failed.pk, old.pk]
    assert body["results"][0]["requested_by"] == "leader"
    assert body["results"][1]["error"] == "Boom"
    assert body["results"][2]["requested_by"] is None
    assert "snapshot" not in body
    done = client.get(RUNS, {"status": "done"}).json()["results"]
    assert [r["id"] for r in done] == [old.pk]
    assert client.get(run_url(old.pk + 1000)).status_code == 404


def test_anonymous_reads_nothing(api, snapshots):
    for url in [*LISTS, RUNS]:
        assert api.get(url).status_code == 401
    assert api.post(RUNS).status_code == 401


# --- Query counts --------------------------------------------------------------------------------


def _portfolio(size: int) -> None:
    """Per step: a triaging owner, a cluster with a strategic member, an orphan."""
    for _ in range(size):
        person = PersonFactory()
        ProductFactory(owner=person, lifecycle_stage="growth")
        ProductFactory(owner=person, lifecycle_stage="introduction")
        cluster = ClusterFactory(owner=PersonFactory())
        ProductFactory(cluster=cluster, strategic=True)
        ProductFactory(cluster=cluster)
        ProductFactory(owner=None)


@pytest.mark.parametrize("size", [1, 6])
@pytest.mark.parametrize(
    ("url", "queries", "per_size"),
    [
        # the latest snapshot, count, the page of rows, their units
        (OWNER_LOAD, 4, 2),
        # the latest snapshot, count, the page of rows (signals outlive snapshots)
        (SIGNALS, 3, 1),
        (CANDIDATES, 3, 1),
        (READINESS, 3, 5),
        # count, the page (runs are snapshots)
        (RUNS, 2, 0),
    ],
)
def test_list_query_count_is_flat(url, queries, per_size, size, viewer, django_assert_num_queries):
    _portfolio(size)
    run_snapshot(now=NOW - dt.timedelta(hours=1))
    run_snapshot(now=NOW)
    client = client_for(viewer)

    with django_assert_num_queries(queries):
        response = client.get(url, {"page_size": 1000})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == (per_size * size if per_size else 2)
