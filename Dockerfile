# The hub's image (docker-compose.yml builds it for every hub service).
# Debian 12 (bookworm) ships what the Makefile and pyproject accept: openjdk-17 for Spark 4 and
# Python 3.11. python:3.11-slim moved to Debian 13, which has no openjdk-17 package.
# BASE can point at a locally built Debian 12 image where no registry is reachable
# (`debootstrap --variant=minbase bookworm` + `docker import`; see the README's Deployment section).
ARG BASE=debian:12.12-slim
FROM ${BASE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv openjdk-17-jre-headless ca-certificates \
    && rm -rf /var/lib/apt/lists/*
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    HUB_HOME=/var/lib/hub \
    DAGSTER_HOME=/opt/dagster/dagster_home \
    GX_ANALYTICS_ENABLED=false \
    PYTHONUNBUFFERED=1
RUN python3 -m venv $VIRTUAL_ENV
WORKDIR /opt/hub
COPY pyproject.toml README.md ./
COPY hub_platform ./hub_platform
RUN pip install --no-cache-dir '.[deploy]' && mkdir -p "$DAGSTER_HOME" "$HUB_HOME"
