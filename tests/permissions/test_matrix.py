"""Runs every case of the matrix for every role, and checks every route has a case."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

import tests.permissions as pkg
from tests.permissions.spec import ROLES, Case, World

# Routes that are not ours to test role by role (Django admin, login/logout, the API root).
EXEMPT_PREFIXES = ("admin:",)
EXEMPT_NAMES = {"login", "logout", "api-root"}


def _cases() -> list[Case]:
    cases: list[Case] = []
    for mod in pkgutil.iter_modules(pkg.__path__):
        if mod.name.startswith("cases_"):
            cases.extend(importlib.import_module(f"tests.permissions.{mod.name}").CASES)
    return cases


def _route_names(resolver=None, namespace: str = "") -> set[str]:
    resolver = resolver or get_resolver()
    names: set[str] = set()
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            names |= _route_names(p, ns)
        elif isinstance(p, URLPattern) and p.name:
            names.add(f"{namespace}{p.name}")
    return names


CASES = _cases()


def test_every_route_has_a_case():
    covered = {c.url_name for c in CASES}
    missing = {
        n
        for n in _route_names()
        if n not in covered
        and n not in EXEMPT_NAMES
        and not n.startswith(EXEMPT_PREFIXES)
        and not n.endswith("-format")  # DRF's format-suffix twins
    }
    assert not missing, f"routes without a permission case: {sorted(missing)}"


def _user(world: World, role: str):
    return None if role == "anonymous" else getattr(world, role)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_permission(case: Case, role: str, world: World):
    user = _user(world, role)
    url = reverse(case.url_name, kwargs=case.kwargs(world)) + case.query
    data = case.data(world) if case.data else None
    if case.api:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        response = getattr(client, case.method)(url, data, format="json")
    else:
        client = Client()
        if user is not None:
            client.force_login(user)
        headers = {"HX-Request": "true"} if case.htmx else {}
        response = getattr(client, case.method)(url, data or {}, headers=headers)
    assert response.status_code == case.expect[role], (
        f"{case.id} as {role}: {response.status_code}, expected {case.expect[role]}"
    )
