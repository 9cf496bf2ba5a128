"""The metrics admin shows metrics but never writes them: writes go through metrics/services.py."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from metrics.models import Metric
from tests.metrics.factories import MetricFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.org", "pass-word-123")
    client.force_login(user)
    return client


def test_the_metrics_admin_lists_and_shows_but_refuses_changes(superuser_client):
    metric = MetricFactory(name="Deploys per week")
    change_url = reverse("admin:metrics_metric_change", args=[metric.pk])

    listed = superuser_client.get(reverse("admin:metrics_metric_changelist"))
    shown = superuser_client.get(change_url)
    posted = superuser_client.post(change_url, {"name": "Renamed in the admin"})
    added = superuser_client.get(reverse("admin:metrics_metric_add"))
    deleted = superuser_client.post(
        reverse("admin:metrics_metric_delete", args=[metric.pk]), {"post": "yes"}
    )

    assert b"Deploys per week" in listed.content
    assert b"Deploys per week" in shown.content and b'name="_save"' not in shown.content
    assert posted.status_code == 403
    assert added.status_code == 403
    assert deleted.status_code == 403
    assert Metric.objects.get(pk=metric.pk).name == "Deploys per week"
