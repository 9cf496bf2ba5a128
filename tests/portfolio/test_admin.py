"""No admin of ours writes a record whose writes have rules: every model our apps register in
the Django admin is read-only there. A new admin that can add, change or delete fails here
until it is made read-only (portfolio.admin.ReadOnlyAdmin) or saves through the service.
Django's own user and group admin stay: they are the superuser's emergency tools."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from django.urls import reverse

from portfolio.admin import ReadOnlyAdmin
from portfolio.models import PortfolioSettings

pytestmark = pytest.mark.django_db

OUR_APPS = {
    "portfolio",
    "products",
    "metrics",
    "backlog",
    "analytics",
    "funding",
    "reviews",
    "web",
    "demo",
}
REGISTERED = sorted(
    (model._meta.label, model_admin)
    for model, model_admin in admin.site._registry.items()
    if model._meta.app_label in OUR_APPS
)


@pytest.fixture
def superuser():
    return get_user_model().objects.create_superuser("root", "root@example.org", "pass-word-123")


def test_the_admin_shows_our_catalogue_and_settings():
    labels = {label for label, _ in REGISTERED}
    assert {"products.Product", "portfolio.PortfolioSettings", "metrics.Metric"} <= labels


@pytest.mark.parametrize("label, model_admin", REGISTERED, ids=[r[0] for r in REGISTERED])
def test_every_admin_of_ours_is_read_only(superuser, label, model_admin):
    request = RequestFactory().get("/admin/")
    request.user = superuser

    assert model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    if hasattr(model_admin, "history_form_view"):  # simple_history's "revert" page
        assert isinstance(model_admin, ReadOnlyAdmin), f"{label} could revert past versions"


def test_the_settings_admin_refuses_changes_and_reverts(client, superuser):
    settings = PortfolioSettings.load()
    client.force_login(superuser)
    change_url = reverse("admin:portfolio_portfoliosettings_change", args=[settings.pk])
    version = settings.history.earliest()  # load() created the row, and its first version
    history_url = reverse(
        "admin:portfolio_portfoliosettings_simple_history", args=[settings.pk, version.history_id]
    )

    shown = client.get(change_url)
    posted = client.post(change_url, {})
    reverted = client.post(history_url, {})

    assert shown.status_code == 200 and b'name="_save"' not in shown.content
    assert posted.status_code == 403
    assert reverted.status_code == 403
    assert settings.history.count() == 1
