import pytest
from django.db import connection

from tests.webhooks.receiver import Receiver
from webhooks.models import Endpoint


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


def place() -> None:
    """Give the events recorded so far their positions, as a commit does (the test's own
    transaction never commits: the deferred trigger is made to run now)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def make_endpoint(url: str, event_types=("all",), **fields) -> Endpoint:
    """An endpoint straight in the table (the services' checks are tested on their own),
    sent everything from the current position on."""
    from webhooks.services import _latest_position

    return Endpoint.objects.create(
        url=url,
        event_types=list(event_types),
        secret=fields.pop("secret", "whsec_test-secret-0123456789"),
        start_position=_latest_position(),
        **fields,
    )
