"""The per-request layer, RequestGate (gate.py), and what it applies: request id and access log, API keys."""

PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/v2/health/live", "/v2/health/ready"})
"""Health, readiness and metrics: open without a key, and answered even when a worker is at its limit."""
