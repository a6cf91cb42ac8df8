"""A run killed while holding a pool slot does not block its pool forever."""

import subprocess
import sys

import dagster as dg

from hub_platform.lib.run_slots import process_tags, release_dead_runs


def test_slots_of_a_run_whose_process_died_are_freed_and_the_run_failed(hub_home):
    instance = dg.DagsterInstance.get()
    instance.event_log_storage.set_concurrency_slots("raw/manifest", 1)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_tags = {**process_tags(), "hub/pid": gone.stdout.strip()}
    job = dg.GraphDefinition(name="noop", node_defs=[dg.OpDefinition(name="noop", compute_fn=lambda *_: None)]).to_job()
    dead = instance.create_run_for_job(job_def=job, tags=dead_tags, status=dg.DagsterRunStatus.STARTED)
    alive = instance.create_run_for_job(job_def=job, tags=process_tags(), status=dg.DagsterRunStatus.STARTED)
    assert instance.event_log_storage.claim_concurrency_slot("raw/manifest", dead.run_id, "raw__a").is_claimed
    assert not instance.event_log_storage.claim_concurrency_slot("raw/manifest", alive.run_id, "raw__b").is_claimed

    assert release_dead_runs(instance) == [dead.run_id]
    assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.FAILURE
    assert instance.event_log_storage.claim_concurrency_slot("raw/manifest", alive.run_id, "raw__b").is_claimed
    assert release_dead_runs(instance) == []  # the live run (this process) is left alone
