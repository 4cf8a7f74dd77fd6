"""Operator routes (ADMIN_KEY only; see app.transports.http.middleware.auth)."""

from fastapi import APIRouter, Request

from app.core.errors import ReloadFailed
from app.core.schemas import ErrorResponse, ReloadRecord
from app.operations.lifecycle import reload_other_workers
from app.transports.http.deps import ReloaderDep, services_of
from app.transports.http.responses import JSONResponse

router = APIRouter(prefix="/admin", tags=["operations"])


@router.post(
    "/reload",
    response_model=ReloadRecord,
    responses={401: {"model": ErrorResponse}, 404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)
async def reload(request: Request, reloader: ReloaderDep) -> JSONResponse:
    """Verify the repository's models (sha256, signature, probe inference) and swap them in; re-read API_KEYS_FILE.

    On failure (422) what failed (models or keys) keeps serving as before. Requests in flight finish on the
    model they started with. With several workers, this one answers; the others reload on SIGHUP.
    """
    record = await reloader.reload("POST /admin/reload")
    reload_other_workers(services_of(request.app))
    if record["error"] is not None:
        raise ReloadFailed(f"reload failed: {record['error']}")
    return JSONResponse(record)
