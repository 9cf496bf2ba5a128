"""The API bodies of the catalogue's objects for their events (portfolio/events.py): the same
bodies their endpoints answer, registered at start-up in ProductsConfig.ready()."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from portfolio import events
from products import selectors
from products.api.serializers import (
    PRODUCT,
    ClusterSerializer,
    PersonSerializer,
    TeamSerializer,
    UnitSerializer,
    cluster_relations,
    product_api_rows,
)
from products.api.views import people_for_api, teams_for_api, units_for_api
from products.models import Cluster, OwnershipUnit, Person, Product, Team


def products(ids: Sequence[int]) -> dict[int, Any]:
    rows = selectors.attach_api_relations(
        list(product_api_rows(Product.objects.filter(pk__in=selectors.ids_in(ids)).order_by()))
    )
    # many(), not one() per row: a bulk write's rows share their timestamps, formatted once.
    return {row["id"]: body for row, body in zip(rows, PRODUCT.many(rows), strict=True)}


def products_of_rows(rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    """The bodies of products from rows a writer holds: `PRODUCT.columns` (datetimes and dates
    as values, not text) plus `dependency_slugs` and `external`, as `attach_api_relations`
    adds them (the bulk upsert's new products, whose rows it has just written)."""
    return PRODUCT.many(rows)


def units(ids: Sequence[int]) -> dict[int, Any]:
    qs = units_for_api(OwnershipUnit.objects.filter(pk__in=ids))
    return {unit.pk: UnitSerializer(unit).data for unit in qs}


def people(ids: Sequence[int]) -> dict[int, Any]:
    qs = people_for_api(Person.objects.filter(pk__in=ids))
    return {person.pk: PersonSerializer(person).data for person in qs}


def teams(ids: Sequence[int]) -> dict[int, Any]:
    qs = teams_for_api(Team.objects.filter(pk__in=ids))
    return {team.pk: TeamSerializer(team).data for team in qs}


def clusters(ids: Sequence[int]) -> dict[int, Any]:
    qs = cluster_relations(Cluster.objects.filter(pk__in=ids))
    return {cluster.pk: ClusterSerializer(cluster).data for cluster in qs}


def register() -> None:
    events.register_representation("product", products, of_rows=products_of_rows)
    events.register_representation("unit", units)
    events.register_representation("person", people)
    events.register_representation("team", teams)
    events.register_representation("cluster", clusters)
