# One image for every Dossier process: the four Flask services (gunicorn), their Celery
# workers and the one-shot `dossier migrate`. docker-compose.yml chooses the command.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 dossier \
 && useradd --system --uid 10001 --gid dossier --home-dir /app --no-create-home \
            --shell /usr/sbin/nologin dossier

# The CJK font review and documents embed in trade-secret watermarks, so every viewer shows
# the reader's Chinese name (shared/watermark.py finds it at its Debian path); poppler's
# pdftoppm draws the PDF pages people read in the browser (shared/pagerender.py).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends fonts-wqy-microhei \
      poppler-utils \
 && rm -rf /var/lib/apt/lists/*

# Build from a scratch folder and install into site-packages (not editable), then drop the
# sources: the running code is exactly what `pip install .` packaged, migrations included.
# README.m[d] is a glob so the build does not fail while the README does not exist yet.
WORKDIR /src
COPY pyproject.toml README.m[d] ./
COPY shared ./shared
COPY services ./services
COPY dossier ./dossier
RUN pip install . && rm -rf /src

# Only the embedded SQLite default would write here; production uses PostgreSQL.
WORKDIR /app
RUN mkdir -p /app/var && chown -R dossier:dossier /app
ENV DOSSIER_DATA_DIR=/app/var

USER dossier:dossier
