"""Settings for the benchmark server: the production settings, plus two changes.

- BENCH_COUNT_QUERIES=1 puts bench.middleware.QueryCountMiddleware first, so every response
  carries an X-Query-Count header (all queries of the request, authentication included).
- Static files use the plain storage: the manifest storage needs `collectstatic`, and a
  manifest lookup per {% static %} tag costs nothing a benchmark could see.

The benchmark client sends `X-Forwarded-Proto: https`, as the TLS proxy in front of gunicorn
does in production, so the HTTPS redirect and secure cookies stay as they are.
"""

import os

# The bench database is throwaway; production refuses to start without a key, so give one.
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret-" + "x" * 40)

from portfolio.settings import *  # noqa: E402, F403
from portfolio.settings import MIDDLEWARE, STORAGES  # noqa: E402

STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

if os.environ.get("BENCH_COUNT_QUERIES") == "1":
    MIDDLEWARE = ["bench.middleware.QueryCountMiddleware", *MIDDLEWARE]
