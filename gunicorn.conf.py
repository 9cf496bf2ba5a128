"""gunicorn settings for the web container (`gunicorn -c gunicorn.conf.py portfolio.wsgi`).

Two workers on a two-core machine, the application loaded once in the master (preload) and
the garbage collector's view of it frozen before the workers fork. Python's full (gen-2)
collections walk every tracked object; a Django process carries a few hundred thousand
of them from start-up that never die, and walking them is what made the half-second
request stalls seen on comparable apps. Frozen objects are left out of every collection, and
since the collector no longer writes to them, the forked workers keep sharing those pages
with the master instead of copying them.
"""

import gc
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
preload_app = True
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle a worker now and then so a slow leak cannot grow without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The proxy in front sets X-Forwarded-Proto; trust it only from where it runs.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# No collections while the application is imported: it only allocates long-lived objects.
gc.disable()


def when_ready(server):
    """Master, after preload and before the first fork: import what requests will need, then
    move everything alive into the permanent generation."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports every view module now, not per worker
    gc.collect()
    gc.freeze()
    gc.enable()
    server.log.info("gc frozen after preload: %d objects", gc.get_freeze_count())


def post_fork(server, worker):
    # Objects created between when_ready and this fork (the arbiter's own) join the frozen set.
    gc.freeze()
    gc.enable()
