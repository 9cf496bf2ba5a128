# Production image: gunicorn serves the app; the same image runs the Celery worker, beat and
# the one-shot migrate step (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# WeasyPrint (review packets as PDF) draws text with Pango and HarfBuzz.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system app \
    && useradd --system --gid app --home-dir /app app \
    && mkdir -p /var/lib/beat \
    && chown app:app /app /var/lib/beat

# Dependencies first, so a code change does not reinstall them.
COPY requirements/base.txt requirements/base.txt
RUN pip install -r requirements/base.txt

COPY --chown=app:app . .
USER app

# collectstatic imports the settings only: a placeholder database URL keeps the embedded
# server from starting, and nothing connects to it.
RUN DEBUG=0 SECRET_KEY=collectstatic-only DATABASE_URL=postgres://build@127.0.0.1:1/build \
    python manage.py collectstatic --noinput

EXPOSE 8000
CMD ["gunicorn", "-c", "gunicorn.conf.py", "portfolio.wsgi"]
