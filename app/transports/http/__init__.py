"""HTTP: the FastAPI app's routes, middleware, codecs and the uvicorn server."""
