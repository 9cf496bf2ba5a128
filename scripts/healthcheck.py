#!/usr/bin/env python3
"""Container health check of the web service: the login page answers 200 through gunicorn.

It asks as the proxy would (a Host from ALLOWED_HOSTS, X-Forwarded-Proto: https), so the
HTTPS redirect and the host check pass exactly as they do for real traffic.
"""

import os
import sys
import urllib.request

host = os.environ.get("ALLOWED_HOSTS", "localhost").split(",")[0].strip().lstrip(".") or "localhost"
port = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000").rsplit(":", 1)[-1]
request = urllib.request.Request(
    f"http://127.0.0.1:{port}/accounts/login/",
    headers={"Host": host, "X-Forwarded-Proto": "https"},
)
try:
    with urllib.request.urlopen(request, timeout=5) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception as exc:  # any failure means unhealthy
    print(exc, file=sys.stderr)
    sys.exit(1)
