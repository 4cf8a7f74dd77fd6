# Serving image only: FastAPI + onnxruntime + numpy, the shipped models, no TensorFlow.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH

WORKDIR /srv
COPY requirements/serving.txt ./requirements.txt
COPY pyproject.toml README.md ./
COPY app ./app
# The locked versions only, each checked against its sha256 (`make lock` renews the lock), then the service
# without dependencies. pip, setuptools, test suites and Swagger UI's source maps and ES bundles are not
# needed at run time (about 40 MB).
RUN python -m venv /opt/venv \
    && pip install --require-hashes -r requirements.txt \
    && pip install --no-deps . \
    && pip uninstall --yes pip setuptools \
    && find /opt/venv -depth -type d -name tests -path "*/numpy/*" -exec rm -rf {} + \
    && find /opt/venv -path "*/swagger_ui_bundle/vendor/*" \( -name "*.map" -o -name "*-es-bundle*" \) -delete \
    && rm -rf app pyproject.toml README.md requirements.txt build *.egg-info \
    && groupadd --system --gid 10001 service \
    && useradd --system --uid 10001 --gid 10001 --create-home service

COPY models ./models

ENV MODELS_DIR=/srv/models \
    HOST=0.0.0.0 \
    PORT=8000 \
    GRPC_PORT=8001 \
    LOG_FORMAT=json \
    SHUTDOWN_TIMEOUT_S=20 \
    MALLOC_MMAP_THRESHOLD_=65536
# MALLOC_MMAP_THRESHOLD_: glibc returns large blocks to the kernel when freed, so RSS comes back after a
# flood of large requests (app/operations/allocator.py; `python -m app` sets it too).
# Numeric, so Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
USER 10001:10001
# REST (and the Open Inference Protocol's REST binding) on 8000, its gRPC binding on 8001 (GRPC_PORT=0: off).
EXPOSE 8000 8001
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"8000\")}/healthz', timeout=2)"
# SIGTERM drains: readiness 503, new connections refused, requests in flight get SHUTDOWN_TIMEOUT_S.
# Give the container longer than that: `docker stop -t 30` / `docker run --stop-timeout 30`
# (Docker's default is 10 s), terminationGracePeriodSeconds >= 30 on Kubernetes (its default).
STOPSIGNAL SIGTERM
CMD ["python", "-m", "app"]
