"""Pure ASGI middleware: request context (id, access log, metrics), API keys, request limits."""

PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/v2/health/live", "/v2/health/ready"})
"""Health, readiness and metrics: open without a key, and answered even when a worker is at its limit."""
