# hireflow: the web server (default), or with another command the Celery worker or beat.
#   docker build -t hireflow .                  -> PostgreSQL, SQLite; Azure Blob; Redis
#   docker build --target mssql -t hireflow:mssql .   -> adds Microsoft's ODBC driver for Azure SQL / SQL Server
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    APP_ENV=production \
    HOST=0.0.0.0

# unixodbc is the ODBC driver manager pyodbc links against. The SQL Server driver itself (msodbcsql18)
# comes from Microsoft's package repository, not Debian's: the `mssql` stage below adds it.
RUN apt-get update \
    && apt-get install -y --no-install-recommends unixodbc \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY domain/ domain/
COPY core/ core/
COPY infra/ infra/
COPY api/ api/
COPY cli/ cli/
COPY main.py bootstrap.py celery_worker.py ./
# Bytecode made once here: PYTHONDONTWRITEBYTECODE stops each process from writing it, not from reading it, and
# without it every start compiled the project's 90 modules again (0.1 s a process on the bench machine).
RUN python -m compileall -q domain core infra api cli main.py bootstrap.py celery_worker.py

RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin hireflow \
    && mkdir -p /app/var \
    && chown hireflow:hireflow /app/var
USER hireflow

# PORT, else Azure's WEBSITES_PORT, else 8000: the same order as core/config.py.
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('PORT') or os.environ.get('WEBSITES_PORT') or '8000'; urllib.request.urlopen(f'http://127.0.0.1:{port}/health', timeout=4)"]

# `serve` first brings the schema to the newest migration (what `python main.py init-db` does), under a
# database lock, so several containers may start at once; then gunicorn starts. gunicorn and Celery log to stdout.
CMD ["python", "main.py", "serve"]


# Azure SQL / SQL Server: Microsoft's ODBC Driver 18, from packages.microsoft.com (needs that repository at build time).
FROM base AS mssql
USER root
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl gnupg ca-certificates \
    && curl -fsSL https://packages.microsoft.com/keys/microsoft.asc | gpg --dearmor -o /usr/share/keyrings/microsoft-prod.gpg \
    && curl -fsSL "https://packages.microsoft.com/config/debian/$(. /etc/os-release && echo "$VERSION_ID")/prod.list" \
        > /etc/apt/sources.list.d/mssql-release.list \
    && apt-get update \
    && ACCEPT_EULA=Y apt-get install -y --no-install-recommends msodbcsql18 \
    && apt-get purge -y curl gnupg && apt-get autoremove -y \
    && rm -rf /var/lib/apt/lists/*
USER hireflow


# The default image: the last stage is what `docker build .` makes.
FROM base AS default
