"""Upsert by external id: one row and bulk, all or nothing, idempotent, set-based."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portfolio.permissions import is_leader
from products.models import ExternalId, LifecycleTransition, OwnershipUnit, Product, Stage
from tests.api.conftest import row
from tests.portfolio.factories import PersonFactory
from tests.products.factories import ExternalIdFactory, ProductFactory

UPSERT = reverse("api-product-upsert")
BULK = reverse("api-product-bulk-upsert")


def history_counts() -> tuple[int, int]:
    return Product.history.count(), OwnershipUnit.history.count()


def writes(ctx) -> list[str]:
    return [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "COPY"))
    ]


@pytest.mark.django_db
class TestSingleUpsert:
    def test_creates_then_answers_unchanged(self, as_leader, ana, team):
        data = row(
            "CI-1",
            name="Expense claims",
            kind="service",
            owner="ana@example.org",
            team="people-systems",
            user_count=40,
        )

        first = as_leader.post(UPSERT, data, format="json")

        assert first.status_code == 201, first.json()
        product = first.json()["product"]
        assert first.json()["action"] == "created"
        assert product["slug"] == "expense-claims"
        assert product["owner"]["id"] == ana.pk
        assert product["team"] == "people-systems"
        assert product["external_ids"] == [{"source": "cmdb", "id": "CI-1"}]
        assert product["lifecycle_stage"] == "introduction"
        created = Product.objects.get(slug="expense-claims")
        assert created.unit.product_id == created.pk and created.unit.owner_id == ana.pk
        assert LifecycleTransition.objects.filter(product=created).count() == 1
        assert created.history.get().history_type == "+"

        before = history_counts()
        again = as_leader.post(UPSERT, data, format="json")

        assert again.status_code == 200
        assert again.json()["action"] == "unchanged"
        assert history_counts() == before

    def test_a_bad_row_is_400_naming_the_field(self, as_leader):
        response = as_leader.post(UPSERT, row("CI-1", name="A", user_count=-3), format="json")
        assert response.status_code == 400
        assert "user_count" in response.json()["errors"]
        assert not Product.objects.exists()

    def test_a_stage_change_is_409_with_the_rule(self, as_leader, product):
        ExternalIdFactory(product=product, source="cmdb", external_id="CI-1")
        response = as_leader.post(UPSERT, row("CI-1", lifecycle_stage="growth"), format="json")
        assert response.status_code == 409
        assert response.json()["rule"] == "stage_changes_by_transition"
        assert "lifecycle_stage" in response.json()["errors"]

    def test_only_leaders(self, as_owner, as_viewer):
        assert as_owner.post(UPSERT, row("CI-1", name="A"), format="json").status_code == 403
        assert (
            as_viewer.post(BULK, {"rows": [row("CI-1", name="A")]}, format="json").status_code
            == 403
        )

    def test_a_body_that_is_not_an_object(self, as_leader):
        assert as_leader.post(UPSERT, [1], format="json").status_code == 400


@pytest.mark.django_db
class TestBulkUpsert:
    def test_creates_updates_and_leaves_alone(self, as_leader, ana, owner_person):
        kept = ProductFactory(name="Kept", slug="kept", owner=owner_person)
        ExternalIdFactory(product=kept, source="cmdb", external_id="K")
        changed = ProductFactory(
            name="Changed", slug="changed", owner=owner_person, description="old"
        )
        ExternalIdFactory(product=changed, source="cmdb", external_id="C")
        kept_updated_at = kept.updated_at
        before = Product.history.filter(id=changed.pk).count()

        response = as_leader.post(
            BULK,
            {
                "rows": [
                    row("K", name="Kept", description=kept.description),
                    row("C", description="new", owner="ana@example.org"),
                    row("N1", name="New one"),
                    row("N2", name="New one", lifecycle_stage="growth"),
                ]
            },
            format="json",
        )

        assert response.status_code == 200, response.json()
        body = response.json()
        assert (body["created"], body["updated"], body["unchanged"]) == (2, 1, 1)
        assert [r["action"] for r in body["rows"]] == ["unchanged", "updated", "created", "created"]
        assert [r["slug"] for r in body["rows"][2:]] == ["new-one", "new-one-2"]
        kept.refresh_from_db()
        assert kept.updated_at == kept_updated_at
        changed.refresh_from_db()
        assert changed.description == "new" and changed.name == "Changed"
        assert changed.owner == ana
        assert Product.history.filter(id=changed.pk).count() == before + 1
        latest = Product.history.filter(id=changed.pk).latest("history_id")
        assert latest.history_type == "~" and latest.history_user_id is not None
        assert Product.objects.get(slug="new-one-2").lifecycle_stage == Stage.GROWTH
        assert ExternalId.objects.get(external_id="N2").product.slug == "new-one-2"

    def test_sending_the_same_batch_twice_writes_nothing(self, as_leader, ana, team):
        batch = {
            "rows": [
                row(
                    f"CI-{i}",
                    name=f"Product {i}",
                    owner="ana@example.org",
                    team="people-systems",
                    project_end_date="2030-01-31",
                    management_model="project",
                )
                for i in range(20)
            ]
        }
        assert as_leader.post(BULK, batch, format="json").json()["created"] == 20
        before = history_counts()
        units, ext_ids = OwnershipUnit.objects.count(), ExternalId.objects.count()

        with CaptureQueriesContext(connection) as ctx:
            response = as_leader.post(BULK, batch, format="json")

        assert response.json()["unchanged"] == 20
        assert writes(ctx) == []
        assert history_counts() == before
        assert (OwnershipUnit.objects.count(), ExternalId.objects.count()) == (units, ext_ids)

    def test_one_bad_row_refuses_the_batch(self, as_leader, product):
        ExternalIdFactory(product=product, source="cmdb", external_id="P")
        response = as_leader.post(
            BULK,
            {
                "rows": [
                    row("A", name="Fine"),
                    row("B", name="Bad", user_count=-1),
                    "not an object",
                    row("P", lifecycle_stage="growth"),
                    row(
                        "D",
                        name="D",
                        team="ghost",
                        owner="nobody@example.org",
                        kind="spaceship",
                        colour="red",
                    ),
                    {"name": "no id"},
                ]
            },
            format="json",
        )

        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "invalid"
        rows = {r["index"]: r for r in body["rows"]}
        assert set(rows) == {1, 2, 3, 4, 5}
        assert "user_count" in rows[1]["errors"]
        assert "non_field_errors" in rows[2]["errors"]
        assert rows[3]["rule"] == "stage_changes_by_transition"
        assert {"team", "owner", "kind", "colour"} <= set(rows[4]["errors"])
        assert "external_id" in rows[5]["errors"]
        assert "rows[1].user_count" in body["errors"]
        assert not Product.objects.exclude(pk=product.pk).exists()

    def test_duplicates_inside_a_batch_are_row_errors(self, as_leader):
        response = as_leader.post(
            BULK,
            {
                "rows": [
                    row("A", name="One", slug="same"),
                    row("A", name="Two"),
                    row("B", name="Three", slug="same"),
                ]
            },
            format="json",
        )

        assert response.status_code == 400
        rows = {r["index"]: r["errors"] for r in response.json()["rows"]}
        assert set(rows) == {1, 2}
        assert "external_id" in rows[1]
        assert "slug" in rows[2]
        assert not Product.objects.exists()

    def test_a_slug_taken_by_another_product_is_a_row_error(self, as_leader, product):
        response = as_leader.post(
            BULK, {"rows": [row("A", name="X", slug="payroll")]}, format="json"
        )
        assert response.status_code == 400
        assert "slug" in response.json()["rows"][0]["errors"]

    def test_generated_slugs_avoid_existing_ones(self, as_leader, product):
        ProductFactory(slug="payroll-2")
        response = as_leader.post(
            BULK, {"rows": [row("A", name="Payroll"), row("B", name="Payroll")]}, format="json"
        )
        assert [r["slug"] for r in response.json()["rows"]] == ["payroll-3", "payroll-4"]

    def test_the_owner_of_a_clustered_product_is_the_clusters(
        self, as_leader, cluster, owner_person, ana
    ):
        clustered = ProductFactory(cluster=cluster, owner=owner_person)
        ExternalIdFactory(product=clustered, source="cmdb", external_id="CL")

        same = as_leader.post(BULK, {"rows": [row("CL", owner=owner_person.email)]}, format="json")
        other = as_leader.post(BULK, {"rows": [row("CL", owner="ana@example.org")]}, format="json")

        assert same.json()["unchanged"] == 1
        assert other.status_code == 400
        assert "owner" in other.json()["rows"][0]["errors"]

    def test_a_departed_owner_cannot_be_named_anew(self, as_leader):
        PersonFactory(email="gone@example.org", active=False, departed_on="2026-01-01")
        response = as_leader.post(
            BULK, {"rows": [row("A", name="A", owner="gone@example.org")]}, format="json"
        )
        assert "owner" in response.json()["rows"][0]["errors"]

    def test_more_than_10000_rows_are_refused(self, as_leader):
        rows = [row(str(i), name="x") for i in range(10_001)]
        response = as_leader.post(BULK, {"rows": rows}, format="json")
        assert response.status_code == 400
        assert "rows" in response.json()["errors"]
        assert not Product.objects.exists()

    @pytest.mark.parametrize("body", [[], {"rows": "x"}, {"rows": []}, {}, "null"])
    def test_a_batch_that_is_not_a_list_of_rows(self, as_leader, body):
        response = as_leader.post(BULK, body, format="json")
        assert response.status_code == 400

    @pytest.mark.parametrize(
        "bad",
        [
            {"external_id": "CI-1"},
            {"external_id": {"source": "CMDB!", "id": "1"}},
            {"external_id": {"source": "cmdb", "id": ""}},
            {"external_id": {"source": "cmdb", "id": "x" * 201}},
            {"external_id": {"source": "cmdb", "id": "1", "extra": 1}},
            {"name": "x" * 161},
            {"name": "a\x00b"},
            {"name": ""},
            {"name": None},
            {"user_count": True},
            {"user_count": 2**31},
            {"strategic": "yes"},
            {"project_end_date": "2026-02-30"},
            {"project_end_date": 20260101},
            {"slug": "not a slug"},
            {"management_model": "project"},
        ],
    )
    def test_each_kind_of_bad_value_is_a_row_error(self, as_leader, bad):
        data = {**row("CI-1", name="Fine"), **bad}
        response = as_leader.post(BULK, {"rows": [data]}, format="json")
        assert response.status_code == 400, response.json()
        assert response.json()["rows"][0]["index"] == 0

    @pytest.mark.parametrize(
        "raw",
        [
            '{"rows": [{"external_id": {"source": "cmdb", "id": "1"}, "name": "\\ud800"}]}',
            '{"rows": [{"external_id": {"source": "cmdb", "id": "1"}, "kind": "\\ud800"}]}',
            '{"rows": [{"external_id": {"source": "cmdb", "id": "1"}, "\\ud800": 1}]}',
        ],
    )
    def test_lone_surrogates_are_row_errors_not_crashes(self, as_leader, raw):
        response = as_leader.post(BULK, raw, content_type="application/json")
        assert response.status_code == 400
        assert response.json()["rows"][0]["index"] == 0

    def test_the_query_count_does_not_grow_with_the_batch(self, as_leader, leader, ana, team):
        is_leader(leader)  # the role is cached on the user; count only the upsert's queries

        def count(n: int, prefix: str) -> int:
            rows = [
                row(
                    f"{prefix}-{i}",
                    name=f"{prefix} {i}",
                    owner="ana@example.org",
                    team="people-systems",
                )
                for i in range(n)
            ]
            with CaptureQueriesContext(connection) as ctx:
                response = as_leader.post(BULK, {"rows": rows}, format="json")
            assert response.json()["created"] == n
            return len(ctx.captured_queries)

        def count_updates(n: int, prefix: str) -> int:
            rows = [row(f"{prefix}-{i}", description="changed") for i in range(n)]
            with CaptureQueriesContext(connection) as ctx:
                response = as_leader.post(BULK, {"rows": rows}, format="json")
            assert response.json()["updated"] == n
            return len(ctx.captured_queries)

        # savepoint, lock, external ids, teams, people, slugs, id block, 5 COPYs (no unit
        # history: the product's "+" row records both), the events, release; the new
        # products' bodies are made from the rows written, not read back. Below COPY_FROM
        # events (portfolio.events) they are one INSERT that takes their feed positions in
        # its own message (the deferred checks run first); from COPY_FROM on, the positions
        # are taken first, then the events are one COPY: one statement more, whatever the size.
        assert count(10, "small") == 14
        assert count(200, "large") == count(400, "larger") == 15
        # savepoint, lock, external ids, one UPDATE, one history COPY, the events' bodies
        # (3), the events (as above), release
        assert count_updates(10, "small") == 10
        assert count_updates(200, "large") == count_updates(400, "larger") == 11


@pytest.mark.django_db
def test_a_race_lost_at_write_time_is_409_and_stores_nothing(as_leader, monkeypatch):
    from products import bulk

    def taken(*args, **kwargs):
        raise bulk.IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(bulk, "_allocate_ids", taken)
    response = as_leader.post(BULK, {"rows": [row("A", name="A")]}, format="json")

    assert response.status_code == 409
    assert response.json()["rule"] == "concurrent_change"
    assert not Product.objects.exists()


@pytest.mark.django_db
def test_awkward_text_survives_the_copy_exactly(as_leader):
    awkward = 'tab\there, "quotes", back\\slash\nnew line\r\n, comma; ünïcødé ✓ \\N NULL'
    response = as_leader.post(
        BULK,
        {
            "rows": [
                row("A", name="Awkward", description=awkward, user_groups="", user_count=None),
                row("B", name="Plain", key_use_cases="\\.", team=None, owner=None),
            ]
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    first = Product.objects.get(slug="awkward")
    assert first.description == awkward.strip()
    assert first.user_groups == "" and first.user_count is None
    second = Product.objects.get(slug="plain")
    assert second.key_use_cases == "\\." and second.team_id is None
    assert second.unit.owner_id is None
    history = Product.history.get(id=first.pk)
    assert history.description == awkward.strip() and history.history_type == "+"


@pytest.mark.django_db
def test_a_copy_sent_in_pieces_stores_every_row_exactly(as_leader, monkeypatch):
    # given COPY data sent three rows a piece (1,000 in production), across piece boundaries
    from portfolio import bulk as copying
    from portfolio.models import Event

    monkeypatch.setattr(copying, "COPY_CHUNK_ROWS", 3)
    awkward = 'tab\there, "quotes", back\\slash\nnew line, ünïcødé \\N'
    rows = [row(f"P-{i}", name=f"Piece {i}", description=f"{awkward} {i}") for i in range(10)]

    response = as_leader.post(BULK, {"rows": rows}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["created"] == 10
    stored = dict(
        Product.objects.filter(slug__startswith="piece-").values_list("name", "description")
    )
    assert stored == {f"Piece {i}": f"{awkward} {i}" for i in range(10)}
    assert Product.history.filter(name__startswith="Piece ", history_type="+").count() == 10
    bodies = Event.objects.filter(type="product.created").values_list("data", flat=True)
    assert sorted(b["description"] for b in bodies) == sorted(stored.values())


@pytest.mark.django_db
def test_a_full_10000_row_batch_beyond_djangos_body_limit_is_accepted(as_leader, settings):
    rows = [
        row(
            f"CI-{i}",
            name=f"Product {i}",
            description="Imported from the CMDB. Serves the finance department. " * 3,
            user_groups="Staff\nManagers",
            key_use_cases="Record requests\nReport monthly",
            user_count=i,
        )
        for i in range(10_000)
    ]
    body = json.dumps({"rows": rows})
    assert len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    response = as_leader.post(BULK, body, content_type="application/json")

    assert response.status_code == 200, response.content[:300]
    assert response.json()["created"] == 10_000


@pytest.mark.django_db
def test_a_body_over_the_bulk_limit_is_413(as_leader, monkeypatch):
    from products.api.views import BulkJSONParser

    monkeypatch.setattr(BulkJSONParser, "MAX_BYTES", 1000)
    body = json.dumps({"rows": [row(f"CI-{i}", name="x") for i in range(50)]})

    response = as_leader.post(BULK, body, content_type="application/json")

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["{not json", '{"rows": [NaN]}', b"\xff\xfe\x00"])
def test_a_bulk_body_that_is_not_json_is_400(as_leader, body):
    response = as_leader.post(BULK, body, content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize(
    "name",
    ["Self-service (HR) #1", "  Tabs\tand   spaces -- ", "Café Ünïcode", "__under_score__", "!!!"],
)
def test_a_generated_slug_is_djangos_slugify_of_the_name(name):
    from django.utils.text import slugify

    from products.bulk import _slug_base

    assert _slug_base(name) == (slugify(name)[:150] or "product")
