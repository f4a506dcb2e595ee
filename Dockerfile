# epilot-mock server image: every bundled spec on port 8080.
#   make image                                  builds epilot-mock:latest (tools/docker-image)
#   docker run -p 8080:8080 epilot-mock:latest
# BASE_IMAGE needs Python 3.11 with venv: python:3.11-slim, or Debian bookworm with python3-venv.
# Few instructions: with the vfs storage driver every step copies the whole file system.
ARG BASE_IMAGE=python:3.11-slim

# The wheelhouse: every wheel the server needs, taken from build/wheels (made on the host by
# `make image`) and, unless WHEELS_ONLY=true, from the package index. Then the virtualenv,
# installed from the wheelhouse alone.
FROM ${BASE_IMAGE} AS wheelhouse
ARG WHEELS_ONLY=false
COPY . /src
RUN mkdir -p /src/build/wheels \
    && python3 -m venv /opt/build \
    && if [ "$WHEELS_ONLY" = true ]; then export PIP_NO_INDEX=1; fi \
    && export PIP_DISABLE_PIP_VERSION_CHECK=1 \
    && /opt/build/bin/pip wheel --no-cache-dir --wheel-dir /wheels --find-links /src/build/wheels /src \
    && python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --no-index --find-links /wheels epilot-mock

# The server. EPILOT_MOCK_HOST and EPILOT_MOCK_PORT move it (the HEALTHCHECK follows the port),
# e.g. for `docker run --network host`.
FROM ${BASE_IMAGE}
ENV LANG=C.UTF-8 \
    PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    EPILOT_MOCK_CACHE_DIR=/home/mock/.cache/epilot-mock \
    EPILOT_MOCK_HOST=0.0.0.0 \
    EPILOT_MOCK_PORT=8080
RUN useradd --create-home --no-log-init --uid 10001 mock
COPY --from=wheelhouse /opt/venv /opt/venv
USER 10001
# Warm the spec and world caches, so that a container answers within a second of starting.
RUN epilot-mock specs list \
    && python -c "from mockserver.cli import app_from_env; app_from_env()"

EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/__admin/health' % os.environ.get('EPILOT_MOCK_PORT', '8080'), timeout=2)"]
CMD ["sh", "-c", "exec epilot-mock serve --host \"$EPILOT_MOCK_HOST\" --port \"$EPILOT_MOCK_PORT\""]
