"""The generation service and its worker process, with the committed model: progress
and results, cancel, a killed worker restarted, a damaged model file reported (never a
hang), and results kept in the document as one undo step."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from generate_support import EventLog, damaged_model_dir

from models.generation.tasks import GenerationRequest
from strumspace_desktop.core.document import ChordItem, Document, Note
from strumspace_desktop.core.timing import PPQ
from strumspace_desktop.generate.chord_labels import to_harte
from strumspace_desktop.generate.events import (
    Cancelled,
    Failed,
    Notice,
    Progress,
    Ready,
    Result,
)
from strumspace_desktop.generate.into_document import add_suggested_chord
from strumspace_desktop.generate.keep import keep_result
from strumspace_desktop.generate.prompts import (
    bar_span,
    make_request,
    next_chord_request,
    prompt_from_clips,
    prompt_from_range,
)
from strumspace_desktop.generate.service import GenerationService

WAIT_S = 120.0  # generous: the machine is shared; a hang still fails
SMALL = GenerationRequest(task="melody", chords="C G Am F", bars=4, seed=1, variations=2)
# Long enough that cancel and kill land while it runs (64 bars, 16 rows).
BIG = GenerationRequest(task="continue", bars=64, seed=2, variations=16, temperature=1.5)


@pytest.fixture(scope="module")
def log() -> EventLog:
    return EventLog()


@pytest.fixture(scope="module")
def service(log: EventLog) -> Iterator[GenerationService]:
    svc = GenerationService(on_event=log, device="cpu")
    svc.start()
    yield svc
    svc.shutdown()
    assert svc.worker_pid is None


def _dead(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie until the service reaps it: count that as dead.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_submit_gives_progress_then_the_variations(service: GenerationService,
                                                   log: EventLog) -> None:
    job = service.submit(SMALL)
    end = service.wait(job, WAIT_S)
    assert isinstance(end, Result), end
    assert len(end.pieces) == 2 and end.backend.startswith("onnx")
    for piece in end.pieces:
        assert len(piece.notes) > 0 and len(piece.bars) == 4
    progress = log.of(job, Progress)
    assert progress and all(0.0 <= p.fraction <= 1.0 for p in progress)
    assert any(isinstance(e, Ready) for e in log.events)
    # The end is the job's last event.
    assert [e for e in log.events if getattr(e, "job", None) == job][-1] is end


def test_the_worker_is_its_own_lower_priority_process(service: GenerationService) -> None:
    service.wait(service.submit(SMALL), WAIT_S)
    pid = service.worker_pid
    assert pid is not None and pid != os.getpid()
    assert os.getpriority(os.PRIO_PROCESS, pid) > os.getpriority(os.PRIO_PROCESS, 0) or \
        os.getpriority(os.PRIO_PROCESS, pid) == 19
    maps = Path(f"/proc/{pid}/maps").read_text()
    assert "PySide6" not in maps and "libQt6" not in maps  # never the UI's interpreter


def test_cancel_stops_the_running_job_and_the_worker_survives(service: GenerationService,
                                                              log: EventLog) -> None:
    service.wait(service.submit(SMALL), WAIT_S)
    pid = service.worker_pid
    jobs: list[int] = []

    def cancel_on_progress(event: object) -> None:
        if isinstance(event, Progress) and jobs and event.job == jobs[0]:
            service.cancel(event.job)

    log.hooks.append(cancel_on_progress)
    try:
        jobs.append(service.submit(BIG))
        end = service.wait(jobs[0], WAIT_S)
    finally:
        log.hooks.remove(cancel_on_progress)
    assert isinstance(end, Cancelled), end
    after = service.wait(service.submit(SMALL), WAIT_S)
    assert isinstance(after, Result)
    assert service.worker_pid == pid  # the same warm worker


def test_cancel_a_queued_job_before_it_runs(service: GenerationService, log: EventLog) -> None:
    first = service.submit(BIG)
    second = service.submit(SMALL)
    service.cancel(second)
    assert isinstance(service.wait(second, WAIT_S), Cancelled)
    service.cancel(first)
    assert isinstance(service.wait(first, WAIT_S), Cancelled | Result)
    assert not log.of(second, Progress)  # it never ran


def test_a_killed_worker_is_restarted_by_the_next_request(service: GenerationService,
                                                          log: EventLog) -> None:
    # Killed while idle.
    service.wait(service.submit(SMALL), WAIT_S)
    pid = service.worker_pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + WAIT_S
    while not _dead(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    end = service.wait(service.submit(SMALL), WAIT_S)
    assert isinstance(end, Result), end
    assert service.worker_pid not in (None, pid)
    # Killed while generating: that job fails as a crash, the next one works.
    jobs: list[int] = []

    def kill_on_progress(event: object) -> None:
        if isinstance(event, Progress) and jobs and event.job == jobs[0]:
            victim = service.worker_pid
            if victim is not None:
                os.kill(victim, signal.SIGKILL)

    log.hooks.append(kill_on_progress)
    try:
        jobs.append(service.submit(BIG))
        crashed = service.wait(jobs[0], WAIT_S)
    finally:
        log.hooks.remove(kill_on_progress)
    assert isinstance(crashed, Failed) and crashed.reason == "crash", crashed
    assert "stopped unexpectedly" in crashed.message
    assert isinstance(service.wait(service.submit(SMALL), WAIT_S), Result)


def test_a_request_made_as_the_worker_dies_runs_on_a_fresh_worker(
        service: GenerationService) -> None:
    # Submitted at once after the kill, the job can reach the dying worker's pipe
    # before its death is seen; it never began there, so it runs on a fresh worker.
    for _ in range(3):
        service.wait(service.submit(SMALL), WAIT_S)
        pid = service.worker_pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        end = service.wait(service.submit(SMALL), WAIT_S)
        assert isinstance(end, Result), end
        assert service.worker_pid not in (None, pid)


def test_bad_requests_fail_with_input_errors(service: GenerationService) -> None:
    end = service.wait(service.submit(GenerationRequest(task="bogus")), WAIT_S)
    assert isinstance(end, Failed) and end.reason == "input" and "bogus" in end.message
    clamped = service.submit(GenerationRequest(task="chords", bars=1000, key="Am", seed=4))
    end = service.wait(clamped, WAIT_S)
    assert isinstance(end, Result) and len(end.pieces[0].bars) == 64
    assert service.worker_pid is not None


def test_next_chord_suggestions(service: GenerationService) -> None:
    end = service.wait(service.submit(
        GenerationRequest(task="next-chord", chords="C G Am", key="C", variations=4)), WAIT_S)
    assert isinstance(end, Result) and end.pieces == []
    assert len(end.suggestions) == 4
    assert all(isinstance(label, str) and 0.0 <= p <= 1.0 for label, p in end.suggestions)


def test_next_chord_from_the_chord_track_lands_as_a_generated_chord(
        service: GenerationService) -> None:
    doc = Document.new()
    doc.set_time_signature(0, 3, 4)
    track = doc.add_track("chord", "Chords")
    for i, label in enumerate(["D:min", "G:min", "A:7"]):
        doc.add_chord(track, ChordItem(i * 3 * PPQ, (i + 1) * 3 * PPQ, label))
    request, prompt = next_chord_request(doc, track, 9 * PPQ, n=3)
    assert prompt.chord_string == "Dm Gm A7" and prompt.meter == (3, 4)
    end = service.wait(service.submit(request), WAIT_S)
    assert isinstance(end, Result) and len(end.suggestions) == 3, end
    label, probability = end.suggestions[0]
    start, stop = bar_span(doc, 9 * PPQ)
    assert (start, stop) == (9 * PPQ, 12 * PPQ)
    cid = add_suggested_chord(doc, track, to_harte(label), start=start, end=stop,
                              confidence=probability)
    item = doc.chords(track)[cid]
    assert item.source == "generated" and item.start == 9 * PPQ
    assert doc.undo() and cid not in doc.chords(track)


def test_a_damaged_model_file_is_an_error_event_not_a_hang(tmp_path: Path) -> None:
    log = EventLog()
    with GenerationService(on_event=log, device="cpu",
                           model_dir=damaged_model_dir(tmp_path)) as svc:
        end = svc.wait(svc.submit(SMALL), WAIT_S)
        assert isinstance(end, Failed) and end.reason == "model", end
        assert "gen.onnx" in end.message
        # The worker stays up and says the same again, clearly, on the next request.
        again = svc.wait(svc.submit(SMALL), WAIT_S)
        assert isinstance(again, Failed) and again.reason == "model"


def test_shutdown_ends_a_running_job(tmp_path: Path) -> None:
    svc = GenerationService(device="cpu")
    job = svc.submit(BIG)
    queued = svc.submit(SMALL)
    svc.shutdown()
    assert isinstance(svc.wait(job, 1.0), Cancelled | Failed | Result)
    assert isinstance(svc.wait(queued, 1.0), Cancelled)
    assert svc.worker_pid is None
    with pytest.raises(RuntimeError):
        svc.submit(SMALL)


def test_kept_results_are_one_undo_step_each(service: GenerationService) -> None:
    doc = Document.new(bpm=110.0)
    chord_track = doc.add_track("chord", "Chords")
    for i, label in enumerate(["C:maj", "G:maj", "A:min", "F:maj"]):
        doc.add_chord(chord_track, ChordItem(i * 4 * PPQ, (i + 1) * 4 * PPQ, label))
    prompt = prompt_from_range(doc, 0, 16 * PPQ, chord_track=chord_track)
    assert prompt.chord_string == "C G Am F"
    melody = service.wait(service.submit(make_request("melody", prompt, seed=1, variations=2)),
                          WAIT_S)
    assert isinstance(melody, Result), melody
    before = doc.snapshot()
    kept = keep_result(doc, "melody", melody.pieces[1], prompt=prompt, chord_track=chord_track)
    assert kept.clip is not None and kept.chords is None  # the chords are there already
    assert kept.clip.start == 0 and doc.clip(kept.clip.clip_id).length == 16 * PPQ
    assert doc.note_count(kept.clip.clip_id) == len(melody.pieces[1].notes)
    assert doc.undo() and doc.snapshot() == before

    more = service.wait(service.submit(make_request("chords", prompt, bars=4, seed=9)), WAIT_S)
    assert isinstance(more, Result), more
    kept = keep_result(doc, "chords", more.pieces[0], prompt=prompt, chord_track=chord_track)
    assert kept.chords is not None and kept.chords.start == 16 * PPQ  # after the prompt
    assert all(c.source == "generated" for c in doc.chords(chord_track).values()
               if c.start >= 16 * PPQ)
    assert doc.undo() and doc.snapshot() == before

    lead = doc.add_track("midi", "Lead")
    clip = doc.add_midi_clip(lead, 0, 8 * PPQ)
    doc.add_notes(clip, [Note(p, i * PPQ, PPQ) for i, p in
                         enumerate([60, 62, 64, 65, 67, 65, 64, 62])])
    tune = prompt_from_clips(doc, [clip])
    before = doc.snapshot()
    cont = service.wait(service.submit(make_request("continue", tune, bars=2, seed=3)), WAIT_S)
    assert isinstance(cont, Result), cont
    kept = keep_result(doc, "continue", cont.pieces[0], prompt=tune, track_id=lead)
    assert kept.clip is not None and kept.clip.start == 8 * PPQ and kept.clip.track_id == lead
    assert doc.undo() and doc.snapshot() == before


def test_notices_are_events(service: GenerationService, log: EventLog) -> None:
    job = service.submit(GenerationRequest(task="continue", prompt=None, bars=2, seed=1))
    assert isinstance(service.wait(job, WAIT_S), Result)
    assert any("no notes" in n.message for n in log.of(job, Notice))
