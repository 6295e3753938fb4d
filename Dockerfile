# Production image for the Cognito password-reset site.
#
#   docker build -t cognito-reset-site .
#   docker run --rm -p 8000:8000 --read-only --tmpfs /tmp \
#     -e DJANGO_SECRET_KEY=... -e DJANGO_ALLOWED_HOSTS=reset.example.com,localhost \
#     -e COGNITO_USER_POOL_ID=... -e COGNITO_CLIENT_ID=... \
#     -v "$PWD/client-secret:/run/secrets/client-secret:ro" \
#     -e COGNITO_CLIENT_SECRET_FILE=/run/secrets/client-secret \
#     cognito-reset-site
#
# Configuration is read from the environment only; see docs/configuration.md.
#
# The base image is a build argument, so that a deployment can pin it by digest
# (docs/operations.md, "The image"):
#   docker build --build-arg BASE_IMAGE=python:3.11-slim@sha256:<digest> \
#     --build-arg REVISION="$(git rev-parse HEAD)" -t cognito-reset-site:0.2.0 .
# It needs python3 (3.11, with venv), apt-get and a shell; any Debian-based
# Python 3.11 image will do.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

# The Makefile is the one install procedure, here as on a workstation.
RUN apt-get update \
    && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Build-time only: keep pip's cache and version check out of the image.
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Install the hash-pinned dependencies first, so that a code change does not
# reinstall them. (If make decides to reinstall anyway, the result is the same.)
COPY Makefile requirements.lock requirements-uv.lock ./
RUN make .venv/.installed LOCK=requirements.lock

# Then the application, and `make install` once more to collect the static files.
# collectstatic imports the settings; the Makefile runs it with
# DJANGO_SETTINGS_MODULE=tests.settings, whose dummy values exist for this build
# step only. The running container uses resetsite.settings and the real environment.
COPY . .
RUN make install LOCK=requirements.lock \
    && .venv/bin/python -m compileall -q accounts resetsite \
    && .venv/bin/python -m pip uninstall --yes --quiet uv

# An unprivileged user that owns nothing under /app: the code, the virtualenv and
# the static files stay root-owned and read-only to the process.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin app
USER 10001:10001

# Nothing is written to disk at run time except gunicorn's worker heartbeat files
# (and any request body too large to keep in memory), which go to WEB_TMP_DIR: run
# with a read-only root filesystem and a writable /tmp (tmpfs or emptyDir).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BIND=0.0.0.0:8000 \
    WEB_TMP_DIR=/tmp

EXPOSE 8000

# OCI labels: which release this is (the version in pyproject.toml and
# CHANGELOG.md), from which commit, on which base. Last, so that a new commit
# does not rebuild the layers above.
ARG BASE_IMAGE
ARG REVISION=""
LABEL org.opencontainers.image.title="cognito-reset-site" \
      org.opencontainers.image.description="A server-rendered password-reset site for Amazon Cognito user pools" \
      org.opencontainers.image.version="0.2.0" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"

# /healthz answers without calling Cognito. The request says "Host: localhost", so
# keep localhost in DJANGO_ALLOWED_HOSTS (it is there by default), and leave
# DJANGO_SECURE_SSL_REDIRECT off when TLS ends at a proxy in front of the container.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/app/.venv/bin/python", "-c", "import os, urllib.request; port = os.environ.get('BIND', '0.0.0.0:8000').rsplit(':', 1)[-1]; urllib.request.urlopen(urllib.request.Request(f'http://127.0.0.1:{port}/healthz', headers={'Host': 'localhost'}), timeout=4)"]

CMD [".venv/bin/gunicorn", "-c", "gunicorn.conf.py", "resetsite.wsgi:application"]
