# syntax=docker/dockerfile:1
# lms-graph as a container: README.md, "Running in production".
#   docker build -t lms-graph .                          (--build-arg EXTRAS=otel: tracing)
#   docker run -p 8000:8000 -v "$PWD/deploy:/etc/lms-graph:ro" -e ... lms-graph
# tests/deploy/test_container.py runs these steps without a Docker engine (DEVELOPERS.md).

# -- build: the project's wheel and every dependency's, so the runtime stage needs no
# compiler, no build backend and no network.
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
COPY pyproject.toml README.md ./
COPY graph/ graph/
COPY resolvers/ resolvers/
COPY connectors/ connectors/
# Optional extras: --build-arg EXTRAS=otel adds OpenTelemetry tracing (README.md).
ARG EXTRAS=""
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".${EXTRAS:+[$EXTRAS]}"

# -- runtime: the installed wheels and nothing else; the wheels are mounted, not copied,
# so they add no layer.
FROM python:3.11-slim-bookworm
LABEL org.opencontainers.image.title="lms-graph" \
      org.opencontainers.image.description="One GraphQL endpoint over every LMS"
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
ARG EXTRAS=""
# The versions are pinned by the build stage: --no-index installs only its wheels.
# hadolint ignore=DL3013
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels "lms-graph${EXTRAS:+[$EXTRAS]}"
# A fixed numeric UID, so that Kubernetes' runAsNonRoot can check it without /etc/passwd.
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin lms-graph
USER 10001:10001
# The config is a mounted file (secrets in it as "env:NAME", read from the environment);
# every lms-graph command in the container reads it (cache clear, documents add, ...).
ENV LMS_GRAPH_CONFIG=/etc/lms-graph/config.toml PYTHONUNBUFFERED=1
EXPOSE 8000
# Liveness without curl: the image's own Python asks /healthz (open without a client key).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request as r; r.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
ENTRYPOINT ["lms-graph"]
# 0.0.0.0: reachable from outside the container; the server refuses it unless the config
# has [[clients]] (or [server] allow_anonymous = true).
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
