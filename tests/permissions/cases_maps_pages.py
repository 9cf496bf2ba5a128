"""Permission cases for the portfolio maps: the landscape page (the dependency map is part of
the product page, whose cases are in cases_pages.py).

Everyone logged in reads the landscape, in either column layout and filtered; anonymous
visitors go to the login page; it takes no POST.
"""

from __future__ import annotations

from tests.permissions.cases_pages import NOT_ALLOWED
from tests.permissions.spec import Case, page_read

CASES = [
    Case("landscape", page_read()),
    Case("landscape", page_read(), query="?columns=cluster", label="by cluster"),
    Case(
        "landscape",
        page_read(),
        query="?stage=maturity&owner=none&criticality=high",
        label="filtered",
    ),
    Case("landscape", NOT_ALLOWED, method="post"),
    Case(
        "product-list",
        page_read(),
        query="?dependency_of=payroll&dependant_of=payroll,nope",
        label="dependency filters",
    ),
]
