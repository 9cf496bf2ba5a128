"""Permission cases for the catalogue import pages: leaders only (others 403, anonymous to
the login). The leader's POSTs carry no file or a stale fingerprint: the form answers 400 and
the confirm 409, and nothing is stored."""

from __future__ import annotations

from products.imports import import_preview
from tests.permissions.cases_pages import NOT_ALLOWED, leader_only
from tests.permissions.spec import Case, World


def an_import(w: World) -> dict:
    upload = import_preview(actor=w.leader, filename="a.csv", data=b"name\r\nWiki\r\n")
    return {"pk": upload.pk}


CASES = [
    Case("import-upload", leader_only(200)),
    Case("import-upload", leader_only(200), htmx=True, label="htmx"),
    Case("import-upload", leader_only(400), "post", data=lambda w: {}),
    Case("import-template", leader_only(200)),
    Case("import-template-xlsx", leader_only(200)),
    Case("import-detail", leader_only(200), kwargs=an_import),
    Case("import-detail", NOT_ALLOWED, "post", kwargs=an_import),
    Case(
        "import-confirm",
        leader_only(400),
        "post",
        kwargs=an_import,
        data=lambda w: {"upload": 0, "fingerprint": "stale"},
        label="another upload",
    ),
    Case("import-confirm", NOT_ALLOWED, "get", kwargs=an_import),
]
