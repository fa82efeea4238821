"""POST /v1/analysis against the real service (embedded PostgreSQL, the committed chord
model): a FluidSynth-rendered clip gives the document `strumspace analyze --format
json` gives (the same runtime and model file), with the embedding on request; corrupt,
empty, oversized and overlong uploads get clear 4xx answers; a busy pool answers 503
with Retry-After."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from cloud_support import bearer, sign_in, sign_up
from fastapi.testclient import TestClient

from cloud.analysis.schema import AnalysisDoc
from cloud.app import create_app
from cloud.config import Settings
from models.chords.embedding import clip_embedding
from models.chords.performance import PlayStyle, perform
from models.chords.progressions import from_template
from models.chords.runtime import analyze_file
from models.chords.soundfonts import SOUNDFONTS_BY_NAME
from models.chords.synth_offline import OfflineSynth

RATE = 22050
URL = "/v1/analysis"


@cache
def clip() -> np.ndarray:
    """About 10 s of C G Am F strummed on a steel-string guitar (FluidR3_GM)."""
    synth = OfflineSynth(Path(SOUNDFONTS_BY_NAME["FluidR3_GM"].path), RATE)
    try:
        perf = perform(from_template("pop/axis", 0, repeats=1),
                       PlayStyle(texture="strum", tempo=110.0, lead_in=0.5, tail=1.0,
                                 humanize_ms=0), np.random.default_rng(0))
        audio = synth.render(perf, {0: 25})
    finally:
        synth.close()
    audio.setflags(write=False)
    return audio


def encoded(fmt: str = "WAV", rate: int = RATE) -> bytes:
    audio = clip()
    if rate != RATE:
        import soxr

        audio = soxr.resample(audio, RATE, rate)
    buf = io.BytesIO()
    sf.write(buf, audio, rate, format=fmt)
    return buf.getvalue()


def app_client(settings: Settings, **changes: object) -> Iterator[tuple[TestClient, dict]]:
    # a fresh address: a test may build several apps on the same database
    email = f"{uuid.uuid4().hex[:12]}@example.com"
    with TestClient(create_app(settings.model_copy(update=changes)),
                    raise_server_exceptions=False) as client:
        sign_up(client, email)
        yield client, bearer(sign_in(client, email))


@pytest.fixture
def api(settings: Settings) -> Iterator[tuple[TestClient, dict]]:
    yield from app_client(settings)


def upload(client: TestClient, auth: dict, data: bytes, name: str = "clip.wav",
           **params: str) -> Any:
    return client.post(URL, params=params, headers=auth,
                       files={"file": (name, data, "application/octet-stream")})


@pytest.mark.parametrize(("fmt", "rate", "name"),
                         [("WAV", RATE, "song.wav"), ("FLAC", 44100, "song.flac")])
def test_a_rendered_clip_gives_the_desktop_document(api: tuple[TestClient, dict], fmt: str,
                                                    rate: int, name: str,
                                                    tmp_path: Path) -> None:
    client, auth = api
    data = encoded(fmt, rate)
    r = upload(client, auth, data, name)
    assert r.status_code == 200, r.text
    body = r.json()
    assert "embedding" not in body
    doc = AnalysisDoc.model_validate(body)  # the schema of `strumspace analyze --format json`
    assert doc.source == name and doc.segments and doc.segments[-1].end == pytest.approx(
        doc.duration)
    # what the desktop computes from the same file with the same model
    path = tmp_path / name
    path.write_bytes(data)
    desktop = json.loads(analyze_file(path).to_json())
    assert body == desktop


def test_the_embedding_on_request(api: tuple[TestClient, dict], tmp_path: Path) -> None:
    client, auth = api
    r = upload(client, auth, encoded(), embedding="true")
    assert r.status_code == 200, r.text
    body = r.json()
    emb = body.pop("embedding")
    AnalysisDoc.model_validate(body)
    vector = np.asarray(emb["vector"], dtype=np.float64)
    assert emb["dim"] == vector.size and emb["key_invariant"] is True
    assert abs(np.linalg.norm(vector) - 1.0) < 1e-5
    assert body["model_version"] in emb["version"]
    local = clip_embedding(clip(), RATE)
    assert emb["version"] == local.version
    assert float(vector @ local.vector) > 0.99  # the same clip (read back from 16-bit WAV)

    absolute = upload(client, auth, encoded(), embedding="true", key_invariant="false")
    assert absolute.status_code == 200, absolute.text
    assert absolute.json()["embedding"]["key_invariant"] is False


@pytest.mark.parametrize(("name", "data", "code"), [
    ("noise.wav", bytes(np.random.default_rng(1).integers(0, 256, 50_000, dtype=np.uint8)),
     "unsupported_audio"),
    ("notes.txt", b"C G Am F\n" * 100, "unsupported_audio"),
    ("empty.wav", b"", "unsupported_audio"),
    ("header-only.wav", None, "unsupported_audio"),
])
def test_corrupt_or_unsupported_files_are_422(api: tuple[TestClient, dict], name: str,
                                              data: bytes | None, code: str) -> None:
    client, auth = api
    if data is None:
        data = encoded()[:44]  # a WAV header announcing data that is not there
    r = upload(client, auth, data, name)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == code
    assert "audio" in error["message"] or "empty" in error["message"]
    # libsndfile's words name the server's temporary file: the client never sees it
    assert "strumspace-analysis-" not in error["message"] and "/tmp" not in error["message"]


def test_a_truncated_file_is_refused_by_its_name(api: tuple[TestClient, dict]) -> None:
    client, auth = api
    data = encoded()
    r = upload(client, auth, data[: len(data) // 3], "take 3.wav")
    # libsndfile would read the part that is there: the service says it is cut instead
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "unreadable_audio"
    assert "take 3.wav" in error["message"] and "truncated" in error["message"]
    assert "strumspace-analysis-" not in error["message"]  # not the server's temp path


def test_the_upload_must_be_a_file_field(api: tuple[TestClient, dict]) -> None:
    client, auth = api
    r = client.post(URL, headers=auth, data={"audio": "not a file"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "missing_file"
    r = client.post(URL, headers=auth, content=encoded(),
                    params={"embedding": "true"})
    assert r.status_code == 422


def test_authentication_is_required(api: tuple[TestClient, dict]) -> None:
    client, _ = api
    r = upload(client, {}, encoded())
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "not_authenticated"


def test_size_and_duration_limits(settings: Settings) -> None:
    data = encoded()
    for client, auth in app_client(settings, analysis_max_bytes=len(data) // 2):
        r = upload(client, auth, data)
        assert r.status_code == 413, r.text
        assert r.json()["error"]["code"] == "too_large"
    for client, auth in app_client(settings, analysis_max_duration_s=2.0):
        r = upload(client, auth, data)
        assert r.status_code == 413, r.text
        error = r.json()["error"]
        assert error["code"] == "too_long" and "2 s" in error["message"]


def test_a_busy_server_answers_503_with_retry_after(settings: Settings) -> None:
    for client, auth in app_client(settings, analysis_workers=1, analysis_queue=1):
        pool = client.app.state.analysis_pool  # type: ignore[attr-defined]
        # Two requests in flight (one running, one waiting) fill the pool.
        pool.admit()
        pool.admit()
        try:
            r = upload(client, auth, encoded())
            assert r.status_code == 503, r.text
            assert r.headers["Retry-After"].isdigit()
            assert r.json()["error"]["code"] == "busy"
        finally:
            pool.release()
            pool.release()
        r = upload(client, auth, encoded())
        assert r.status_code == 200, r.text
        assert pool.admitted == 0  # the finished job gave its place back


def test_a_damaged_model_file_is_503_not_a_crash(settings: Settings, tmp_path: Path) -> None:
    damaged = tmp_path / "chords.onnx"
    damaged.write_bytes(b"\x08\x07 not a model")
    for client, auth in app_client(settings, analysis_model=damaged):
        r = upload(client, auth, encoded())
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "analysis_unavailable"
        assert client.app.state.analysis_pool.admitted == 0  # type: ignore[attr-defined]


def test_the_pool_cancels_and_counts_until_the_thread_is_done(settings: Settings) -> None:
    """A request that goes away (client gone, request timeout) sets the job's cancel
    flag; its place is held until the thread really ends, and a job still waiting
    for a worker never starts."""
    import asyncio
    import threading

    from cloud.analysis.service import AnalysisPool, Busy

    pool = AnalysisPool(settings.model_copy(update={"analysis_workers": 1,
                                                    "analysis_queue": 1}))
    started = threading.Event()
    finish = threading.Event()
    saw_cancel: list[bool] = []
    ran_second: list[bool] = []

    def running(cancel: threading.Event) -> str:
        started.set()
        saw_cancel.append(cancel.wait(60))
        finish.wait(60)  # winding down takes a while: the place stays taken meanwhile
        return "done"

    def waiting(cancel: threading.Event) -> str:
        ran_second.append(True)
        return "never"

    async def scenario() -> None:
        pool.admit()
        first = asyncio.ensure_future(pool.run(running))
        assert await asyncio.to_thread(started.wait, 60)
        pool.admit()
        second = asyncio.ensure_future(pool.run(waiting))
        await asyncio.sleep(0)
        with pytest.raises(Busy):
            pool.admit()
        second.cancel()
        first.cancel()
        for task in (first, second):
            with pytest.raises(asyncio.CancelledError):
                await task
        assert await asyncio.to_thread(lambda: _until(lambda: bool(saw_cancel)))
        assert saw_cancel == [True]
        assert pool.admitted == 1  # the waiting job's place came back, the running one's not
        finish.set()
        assert await asyncio.to_thread(lambda: _until(lambda: pool.admitted == 0))

    try:
        asyncio.run(scenario())
    finally:
        finish.set()
        pool.close()
    assert ran_second == []


def _until(condition: Callable[[], bool], timeout_s: float = 60.0) -> bool:
    """Wait (polling) until ``condition()`` holds; False after ``timeout_s``."""
    import time

    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_pgvector_cosine_search_finds_the_same_progression(clean_db: str) -> None:
    """Embeddings stored in a pgvector column: the nearest by cosine distance (`<=>`)
    to a guitar clip is the same progression on piano, as `similarity` says."""
    import psycopg
    from cloud_support import libpq

    from models.chords.embedding import similarity

    def render(template: str, program: int, texture: str) -> np.ndarray:
        synth = OfflineSynth(Path(SOUNDFONTS_BY_NAME["FluidR3_GM"].path), RATE)
        try:
            perf = perform(from_template(template, 0, repeats=1),
                           PlayStyle(texture=texture, tempo=110.0, lead_in=0.5, tail=1.0,
                                     humanize_ms=0), np.random.default_rng(0))
            return synth.render(perf, {0: program})
        finally:
            synth.close()

    library = {t: clip_embedding(render(t, 0, "block"), RATE)
               for t in ("pop/axis", "rock/mixolydian", "classical/pachelbel")}
    query = clip_embedding(clip(), RATE)  # pop/axis strummed on guitar
    dim = query.dim

    def literal(v: np.ndarray) -> str:
        return "[" + ",".join(f"{x:.7g}" for x in v) + "]"

    with psycopg.connect(libpq(clean_db), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS clip_embeddings_test")
        conn.execute(f"CREATE TABLE clip_embeddings_test (name text, version text, "
                     f"embedding vector({dim}))")
        try:
            for name, e in library.items():
                conn.execute("INSERT INTO clip_embeddings_test VALUES (%s, %s, %s::vector)",
                             (name, e.version, literal(e.vector)))
            rows = conn.execute(
                "SELECT name, 1 - (embedding <=> %s::vector) FROM clip_embeddings_test "
                "WHERE version = %s ORDER BY embedding <=> %s::vector",
                (literal(query.vector), query.version, literal(query.vector))).fetchall()
        finally:
            conn.execute("DROP TABLE clip_embeddings_test")
    assert rows[0][0] == "pop/axis", rows
    for name, cosine in rows:
        assert cosine == pytest.approx(similarity(query, library[name]), abs=1e-5)
