"""AI generation on the desktop (no Qt): the worker process and `GenerationService`
(service.py, events.py, worker.py, jobs.py), prompts from the song document
(prompts.py), results into it as one undo step each (into_document.py, keep.py),
chord names (chord_labels.py) and the `strumspace generate` command (cli.py)."""
