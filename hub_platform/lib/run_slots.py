"""Concurrency-pool slots of runs whose process died: without freeing them, a pool would wait forever.

Every table's writers share a pool with a limit of one (dagster.yaml). A run that is killed (``kill -9``,
a power cut) while a step holds a slot never gives it back, and every later step of that pool waits.
The daemon's run monitoring settles runs it launched; a ``hub materialize`` run is the CLI's own
process, so it is tagged with its host and process id, and the next ``hub materialize`` marks such a run
failed and frees its slots when that process is gone.
"""

from __future__ import annotations

import os
import socket

import dagster as dg

HOST_TAG, PID_TAG = "hub/host", "hub/pid"


def process_tags() -> dict[str, str]:
    """Tags that say which process runs a run (for :func:`release_dead_runs`)."""
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def release_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Runs started on this host whose process is gone: reported failed and their pool slots freed."""
    host = socket.gethostname()
    released = []
    for run_id in sorted(instance.event_log_storage.get_concurrency_run_ids()):
        run = instance.get_run_by_id(run_id)
        if run is None or run.tags.get(HOST_TAG) != host or not run.tags.get(PID_TAG, "").isdigit():
            continue
        if _alive(int(run.tags[PID_TAG])) and not run.is_finished:
            continue
        if not run.is_finished:
            instance.report_run_failed(run, f"its process ({run.tags[PID_TAG]}) is gone; its pool slots were freed")
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)
        released.append(run_id)
    return released
