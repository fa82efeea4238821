"""Chord analysis of an uploaded audio file: the document `strumspace analyze --format
json` writes (same runtime, same model file), optionally with the clip's embedding.

The place in the worker pool is taken before the upload is read, so a busy server
answers 503 at once; the database connection goes back to the pool once the caller is
authenticated, since the analysis needs none.
"""

from __future__ import annotations

import functools
import logging
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import FormData, UploadFile

from cloud.analysis.service import (
    RETRY_AFTER_S,
    AnalysisPool,
    AnalysisResult,
    AudioRefused,
    Busy,
    Options,
    analyze_upload,
)
from cloud.config import Settings
from cloud.deps import ServiceDep, SessionDep, UserDep
from cloud.errors import ApiError
from cloud.schemas import API_PREFIX, ErrorResponse

log = logging.getLogger("cloud.analysis")
router = APIRouter(prefix=f"{API_PREFIX}/analysis", tags=["analysis"])

_err: dict[str, Any] = {"model": ErrorResponse}
_UPLOAD: dict[str, Any] = {
    "required": True,
    "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {
            "type": "string", "format": "binary",
            "description": "the audio file: WAV, FLAC, OGG (Vorbis, Opus), MP3, AIFF, ..."}},
    }}},
}


def install(app: FastAPI, settings: Settings) -> AnalysisPool:
    """Adds the route and its worker pool; returns the pool (close it on shutdown)."""
    pool = AnalysisPool(settings)
    app.state.analysis_pool = pool
    app.include_router(router)
    return pool


def _busy() -> ApiError:
    return ApiError(503, "busy", "every chord analysis worker is busy; try again shortly",
                    headers={"Retry-After": str(RETRY_AFTER_S)})


@router.post(
    "", response_model=AnalysisResult,
    responses={400: _err, 401: _err, 413: _err, 422: _err, 503: _err},
    openapi_extra={"requestBody": _UPLOAD},
)
async def analyze(
    request: Request, service: ServiceDep, session: SessionDep, user: UserDep,
    embedding: Annotated[bool, Query(
        description="add the clip's harmonic embedding (`embedding` in the answer)")] = False,
    key_invariant: Annotated[bool, Query(
        description="embedding comparable across keys (transposed copies match)")] = True,
    beat_sync: Annotated[bool, Query(
        description="snap chord changes to the tracked beats")] = False,
) -> JSONResponse:
    """Chords, key, tempo and beats of an audio file sent as the multipart field
    `file` (docs/ANALYSIS.md describes the document). 413 for a file over the size or
    duration limit, 422 for one that is not readable audio, 503 with Retry-After when
    every worker is busy."""
    await session.close()  # give the connection back: the analysis takes seconds
    pool: AnalysisPool = request.app.state.analysis_pool
    try:
        pool.admit()
    except Busy:
        raise _busy() from None
    handed_over = False
    form: FormData | None = None
    try:
        form = await request.form(max_files=1, max_fields=8)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(422, "missing_file",
                           "send the audio as the multipart/form-data file field 'file'")
        job = functools.partial(analyze_upload, upload.file, upload.filename,
                                Options(beat_sync=beat_sync, embedding=embedding,
                                        key_invariant=key_invariant), service.settings)
        handed_over = True  # from here the pool releases the place when the job ends
        doc = await pool.run(job)
    except AudioRefused as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    except RuntimeError as exc:
        mapped = _server_side(exc)
        if mapped is None:
            raise
        raise mapped from None
    finally:
        if not handed_over:
            pool.release()
        if form is not None:
            await form.close()
    return JSONResponse(doc)


def _server_side(exc: RuntimeError) -> ApiError | None:
    """503 for the model file missing or damaged, or the pool shutting down: not the
    client's fault. None for anything else (a 500)."""
    from models.chords.runtime import AnalysisCancelled
    from models.chords.session import ModelFileError

    if isinstance(exc, ModelFileError):
        log.error("chord model unavailable", extra={"error": str(exc)[:300]})
        return ApiError(503, "analysis_unavailable",
                        "chord analysis is unavailable: the server's chord model cannot be "
                        "loaded")
    if isinstance(exc, AnalysisCancelled) or "shutdown" in str(exc):
        return ApiError(503, "analysis_unavailable", "the server is shutting down",
                        headers={"Retry-After": str(RETRY_AFTER_S)})
    return None
