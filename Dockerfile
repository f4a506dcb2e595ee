# epilot-mock server image: every bundled spec on port 8080.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    EPILOT_MOCK_CACHE_DIR=/home/mock/.cache/epilot-mock

WORKDIR /app
COPY pyproject.toml README.md ./
COPY mockserver ./mockserver
COPY contracts ./contracts
COPY specs ./specs
COPY scenarios ./scenarios

# The same commands run in CI (.ci/docker-smoke): install, warm the spec and world caches, start.
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 mock
USER 10001
RUN epilot-mock specs list \
    && python -c "from mockserver.app import create_app; create_app()"

EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/__admin/health', timeout=2)"]
CMD ["epilot-mock", "serve", "--host", "0.0.0.0", "--port", "8080"]
