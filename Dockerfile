# CertLab image for the distributed mode: one image, run as web (daphne), worker (celery),
# ftp (pyftpdlib) or simulator by its command; see docker-compose.yml.

# --- build: wheels for every dependency, compiled where needed ---------------------------------
FROM python:3.11-slim-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends build-essential libpq-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY requirements.txt .
RUN pip wheel --no-cache-dir --wheel-dir /wheels -r requirements.txt

# --- runtime -----------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm AS runtime
# WeasyPrint needs Pango for the PDF report; curl serves the HEALTHCHECK.
RUN apt-get update && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b fonts-dejavu-core curl \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels

RUN groupadd --system certlab && useradd --system --gid certlab --home-dir /app certlab
WORKDIR /app
COPY --chown=certlab:certlab . .

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=certlab.settings \
    CERTLAB_DATA_DIR=/data \
    STATIC_ROOT=/app/staticfiles \
    CERTLAB_BIND=0.0.0.0

# Static files are collected at build time; a throwaway key lets settings load for it.
RUN SECRET_KEY=build-only-build-only-build-only-build-only-build-only \
    python manage.py collectstatic --no-input -v 0

RUN mkdir -p /data && chown certlab:certlab /data
VOLUME ["/data"]
USER certlab

# HTTP (pages, websockets, OCPP), FTP control and the passive FTP range of docker-compose.yml.
EXPOSE 8000 2121 30000-30009
# The web process's check; docker-compose.yml gives the worker and the FTP server their own.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "certlab.asgi:application"]
