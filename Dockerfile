# Serving image only: FastAPI + onnxruntime + numpy, the shipped models, no TensorFlow.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH

WORKDIR /srv
COPY pyproject.toml README.md ./
COPY app ./app
# pip, setuptools and test suites are not needed at run time (about 30 MB).
RUN python -m venv /opt/venv \
    && pip install . \
    && pip uninstall --yes pip setuptools \
    && find /opt/venv -depth -type d -name tests -path "*/numpy/*" -exec rm -rf {} + \
    && rm -rf app pyproject.toml README.md build *.egg-info \
    && useradd --system --uid 10001 --create-home service

COPY models ./models

ENV MODELS_DIR=/srv/models \
    HOST=0.0.0.0 \
    PORT=8000 \
    LOG_FORMAT=json \
    SHUTDOWN_TIMEOUT_S=20
USER service
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"8000\")}/healthz', timeout=2)"
# SIGTERM drains: readiness 503, new connections refused, requests in flight get SHUTDOWN_TIMEOUT_S.
# Give the container longer than that: `docker stop -t 30` / `docker run --stop-timeout 30`
# (Docker's default is 10 s), terminationGracePeriodSeconds >= 30 on Kubernetes (its default).
STOPSIGNAL SIGTERM
CMD ["python", "-m", "app"]
