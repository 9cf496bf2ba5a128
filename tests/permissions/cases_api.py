"""Permission cases for /api/v1/: every route the router makes, every method it serves.

Reads: anonymous 401, every login 200. Writes with valid data, so the success path runs:
leaders succeed everywhere; the owner of the unit edits their product and cluster; owners of
other units and viewers get 403. Methods a route does not serve answer 405 (after the 401).
"""

from __future__ import annotations

from products.imports import import_preview
from tests.permissions.spec import Case, World, api_read


def leader_only(ok: int) -> dict[str, int]:
    return {"anonymous": 401, "viewer": 403, "owner": 403, "other_owner": 403, "leader": ok}


def unit_owner_or_leader(ok: int) -> dict[str, int]:
    return {"anonymous": 401, "viewer": 403, "owner": ok, "other_owner": 403, "leader": ok}


NOT_ALLOWED = api_read(viewer=405, owner=405, other_owner=405, leader=405)


def product(w: World) -> dict:
    return {"pk": w.product.pk}


def cluster(w: World) -> dict:
    return {"pk": w.cluster.pk}


def row(ext_id: str, **fields) -> dict:
    return {"external_id": {"source": "cmdb", "id": ext_id}, **fields}


def api(url_name: str, expect: dict[str, int], method: str = "get", **kw) -> Case:
    return Case(url_name, expect, method=method, api=True, **kw)


CASES = [
    # products
    api("api-product-list", api_read()),
    api(
        "api-product-list",
        api_read(),
        query="?stage=maturity&updated_since=2020-01-01T00:00Z",
        label="filtered",
    ),
    api(
        "api-product-list",
        leader_only(201),
        "post",
        data=lambda w: {"name": "Expense claims", "team": w.team.slug},
    ),
    api("api-product-detail", api_read(), kwargs=product),
    api(
        "api-product-detail",
        unit_owner_or_leader(200),
        "patch",
        kwargs=product,
        data=lambda w: {"description": "Pays everyone on time."},
    ),
    api(
        "api-product-detail",
        unit_owner_or_leader(200),
        "put",
        kwargs=product,
        data=lambda w: {"name": "Payroll", "kind": "service"},
    ),
    api(
        "api-product-detail",
        leader_only(200),
        "patch",
        kwargs=product,
        data=lambda w: {"strategic": True},
        label="strategic",
    ),
    api(
        "api-product-detail",
        leader_only(200),
        "patch",
        kwargs=product,
        data=lambda w: {"owner": w.other_owner_person.pk},
        label="owner",
    ),
    api(
        "api-product-detail",
        leader_only(200),
        "patch",
        kwargs=product,
        data=lambda w: {"cluster": w.cluster.slug},
        label="cluster",
    ),
    api("api-product-detail", NOT_ALLOWED, "delete", kwargs=product),
    api(
        "api-product-transition",
        unit_owner_or_leader(201),
        "post",
        kwargs=product,
        data=lambda w: {"to_stage": "growth", "reason": "Reinvestment"},
    ),
    api("api-product-transition", NOT_ALLOWED, "get", kwargs=product),
    api("api-product-transitions", api_read(), kwargs=product),
    api(
        "api-product-upsert",
        leader_only(201),
        "post",
        data=lambda w: row("CI-1", name="Expense claims", owner=w.owner_person.email),
    ),
    api(
        "api-product-bulk-upsert",
        leader_only(200),
        "post",
        data=lambda w: {"rows": [row("CI-1", name="Expense claims"), row("CI-2", name="Wiki")]},
    ),
    api("api-product-bulk-upsert", NOT_ALLOWED, "get"),
    # clusters
    api("api-cluster-list", api_read()),
    api("api-cluster-list", api_read(), query="?has_reason=false", label="has_reason"),
    api(
        "api-cluster-list",
        leader_only(201),
        "post",
        data=lambda w: {"name": "Finance", "reasons": ["same_domain"], "owner": w.owner_person.pk},
    ),
    api("api-cluster-detail", api_read(), kwargs=cluster),
    api(
        "api-cluster-detail",
        unit_owner_or_leader(200),
        "patch",
        kwargs=cluster,
        data=lambda w: {"description": "Tools for staff", "reasons": ["same_users"]},
    ),
    api(
        "api-cluster-detail",
        unit_owner_or_leader(200),
        "put",
        kwargs=cluster,
        data=lambda w: {"name": w.cluster.name, "reason_note": "One audience"},
    ),
    api(
        "api-cluster-detail",
        leader_only(200),
        "patch",
        kwargs=cluster,
        data=lambda w: {"name": "Staff experience"},
        label="rename",
    ),
    api("api-cluster-detail", leader_only(204), "delete", kwargs=cluster),
    api(
        "api-cluster-members",
        leader_only(200),
        "post",
        kwargs=cluster,
        data=lambda w: {"add": [w.other_product.slug], "remove": [w.clustered.pk]},
    ),
    # people
    api("api-person-list", api_read()),
    api(
        "api-person-list",
        leader_only(201),
        "post",
        data=lambda w: {"name": "Nia New", "email": "nia@example.org"},
    ),
    api("api-person-detail", api_read(), kwargs=lambda w: {"pk": w.owner_person.pk}),
    api(
        "api-person-detail",
        leader_only(200),
        "patch",
        kwargs=lambda w: {"pk": w.owner_person.pk},
        data=lambda w: {"title": "Lead"},
    ),
    api(
        "api-person-detail",
        leader_only(200),
        "put",
        kwargs=lambda w: {"pk": w.owner_person.pk},
        data=lambda w: {"name": "Olivia Owner", "email": w.owner_person.email},
    ),
    api("api-person-detail", NOT_ALLOWED, "delete", kwargs=lambda w: {"pk": w.owner_person.pk}),
    # teams
    api("api-team-list", api_read()),
    api(
        "api-team-list",
        leader_only(201),
        "post",
        data=lambda w: {"name": "Core apps", "members": [w.owner_person.pk]},
    ),
    api("api-team-detail", api_read(), kwargs=lambda w: {"pk": w.team.pk}),
    api(
        "api-team-detail",
        leader_only(200),
        "patch",
        kwargs=lambda w: {"pk": w.team.pk},
        data=lambda w: {"description": "Runs HR systems"},
    ),
    api(
        "api-team-detail",
        leader_only(200),
        "put",
        kwargs=lambda w: {"pk": w.team.pk},
        data=lambda w: {"name": "People systems"},
    ),
    api("api-team-detail", NOT_ALLOWED, "delete", kwargs=lambda w: {"pk": w.team.pk}),
    # ownership units: read-only
    api("api-unit-list", api_read()),
    api("api-unit-list", NOT_ALLOWED, "post", data=lambda w: {}),
    api("api-unit-detail", api_read(), kwargs=lambda w: {"pk": w.product.unit_id}),
    api(
        "api-unit-detail",
        NOT_ALLOWED,
        "patch",
        kwargs=lambda w: {"pk": w.product.unit_id},
        data=lambda w: {},
    ),
    # settings
    api("api-settings", api_read()),
    api("api-settings", leader_only(200), "patch", data=lambda w: {"max_active_units": 2}),
    api("api-settings", NOT_ALLOWED, "post", data=lambda w: {}),
    # the OpenAPI schema needs a login like every other call (docs/security.md)
    api("api-schema", api_read()),
    api("api-schema", NOT_ALLOWED, "post", data=lambda w: {}),
    # the change feed: every login reads it (leaders also see the settings events)
    api("api-events", api_read()),
    api("api-events", api_read(), query="?type=product.updated&after=0", label="filtered"),
    api("api-events", NOT_ALLOWED, "post", data=lambda w: {}),
]


def an_import(w: World) -> dict:
    """A previewed import of one new product, made by the leader."""
    upload = import_preview(actor=w.leader, filename="a.csv", data=b"name\r\nWiki\r\n")
    return {"pk": upload.pk}


CASES += [
    # catalogue imports: leaders only. The matrix posts JSON, so the leader's upload has no
    # file (400 naming it) and the confirm no matching fingerprint (409 import_plan_changed).
    api("api-import-list", leader_only(400), "post", data=lambda w: {}),
    api("api-import-list", NOT_ALLOWED, "get"),
    api("api-import-detail", leader_only(200), kwargs=an_import),
    api(
        "api-import-detail",
        api_read(viewer=405, owner=405, other_owner=405, leader=405),
        "delete",
        kwargs=an_import,
    ),
    api(
        "api-import-confirm",
        leader_only(409),
        "post",
        kwargs=an_import,
        data=lambda w: {"fingerprint": "not-the-preview's"},
    ),
    api("api-import-confirm", NOT_ALLOWED, "get", kwargs=an_import),
]
