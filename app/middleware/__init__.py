"""Pure ASGI middleware: per-request budgets enforced around the routes."""
