"""Pure ASGI middleware: request context (id, access log), API keys, body limit, concurrency cap."""
