# syntax=docker/dockerfile:1
# One image for the four services and the gateway; docker-compose.yml and the
# Kubernetes manifests choose the command (nameko run --config ... <module>).
# No secret is baked in: every key arrives through the environment at run time.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------
# builder: resolve and install every wheel into a self-contained venv
# ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src

# Dependencies first, from pyproject.toml alone, so this layer is rebuilt only
# when the pins change and not on every code edit. The compiled ones (numpy,
# scipy, ortools, cryptography, psycopg-binary, greenlet) ship manylinux wheels
# for CPython 3.11, so the builder needs no compiler.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > requirements.txt \
    && pip install -r requirements.txt

# The product itself (its dependencies are already there), for the
# `referral-network` console script and the package data (templates, configs).
COPY README.md ./
COPY services ./services
COPY gateway ./gateway
COPY console ./console
RUN pip install --no-deps . \
    && python -m compileall -q /opt/venv/lib/python3.11/site-packages/services \
        /opt/venv/lib/python3.11/site-packages/gateway /opt/venv/lib/python3.11/site-packages/console

# ---------------------------------------------------------------------------
# runtime: the venv and the source tree, nothing else
# ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="recovery-referral-network" \
      org.opencontainers.image.description="Consented referrals from formal treatment to peer recovery support" \
      org.opencontainers.image.licenses="Apache-2.0"

# A fixed numeric uid/gid so Kubernetes' runAsNonRoot can verify it without
# reading /etc/passwd, and so mounted volumes can be chowned to match.
ARG APP_UID=10001
RUN groupadd --system --gid ${APP_UID} referral \
    && useradd --system --uid ${APP_UID} --gid referral --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin referral

COPY --from=builder /opt/venv /opt/venv

# `nameko run --config services/<name>/config.yml services.<name>.service`
# reads its config by relative path, so the tree sits in the working directory.
# Owned by root: the application user can read the code but never change it.
WORKDIR /app
COPY services ./services
COPY gateway ./gateway
# The web console the gateway serves at /console/ (pages, templates, catalogs).
COPY console ./console
COPY deploy/healthcheck.py ./deploy/healthcheck.py
# The broker-users one-shot (compose service, Kubernetes Job) and its permission table.
COPY deploy/broker_users.py ./deploy/broker_users.py
COPY deploy/broker/permissions.json ./deploy/broker/permissions.json
# Bytecode is compiled now because the root filesystem is read-only at run
# time. var/ holds SQLite files when no *_DATABASE_URL points at PostgreSQL.
RUN python -m compileall -q services gateway console deploy \
    && install -d -o ${APP_UID} -g ${APP_UID} -m 0750 /app/var

# PSYCOPG_WAIT_FUNC: psycopg 3 must wait with select() or it blocks eventlet's
# hub. GATEWAY_ADDRESS: inside a container the gateway listens on every interface.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PSYCOPG_WAIT_FUNC=wait_select \
    GATEWAY_ADDRESS=0.0.0.0 \
    GATEWAY_PORT=8000

USER ${APP_UID}:${APP_UID}

EXPOSE 8000

# Overridden per service; on its own the image only explains itself.
CMD ["referral-network", "--help"]
