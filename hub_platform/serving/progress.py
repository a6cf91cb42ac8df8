"""`hub materialize`: which assets a selection means, and what the run is doing while it runs.

A selection that matches nothing is an error, never "everything" (Dagster runs the whole graph for an
empty asset list): :func:`resolve_selection` raises :class:`EmptySelection` with the nearest asset keys
and groups. While a run executes in this process, :class:`RunProgress` prints a line per asset started
and finished (rows, seconds), every check that did not pass, and a line for steps still running
every ``heartbeat`` seconds, so a long Spark or Splink step does not look like a hang.
"""

from __future__ import annotations

import difflib
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TextIO

import dagster as dg
from dagster._core.errors import DagsterInvalidSubsetError
from dagster._core.events import DagsterEventType


class EmptySelection(ValueError):
    """The selection names no asset of the graph."""


def _names(graph) -> tuple[list[str], list[str]]:
    keys = sorted(key.to_user_string() for key in graph.get_all_asset_keys())
    groups = sorted({graph.get(key).group_name for key in graph.get_all_asset_keys()})
    return keys, groups


def near_matches(text: str, graph, limit: int = 5) -> list[str]:
    """Selection strings close to ``text``: asset keys and ``group:<name>``s, closest first."""
    keys, groups = _names(graph)
    value = text.split(":", 1)[1].strip().strip('"') if ":" in text else text.strip().strip('"')
    candidates = {f"group:{g}": g for g in groups} | {k: k for k in keys}
    scored = sorted(
        ((max(difflib.SequenceMatcher(None, value, bare).ratio(),
              difflib.SequenceMatcher(None, value, bare.rsplit("/", 1)[-1]).ratio()), shown)
         for shown, bare in candidates.items()),
        reverse=True,
    )
    close = [shown for score, shown in scored if score >= 0.7]
    contained = [shown for shown, bare in candidates.items() if value and value in bare and shown not in close]
    return (close + contained)[:limit]


def resolve_selection(texts: Iterable[str], graph) -> list[dg.AssetKey]:
    """The asset keys ``texts`` select together (keys like ``raw/erp_products`` or selection syntax
    like ``group:curated``, ``key:"forecast/published"+``), with the tables computed together with them.
    Raises EmptySelection naming near matches."""
    chosen: set[dg.AssetKey] = set()
    for text in texts:
        try:
            with warnings.catch_warnings():  # Dagster flags its own group selection as beta on every parse
                warnings.simplefilter("ignore", dg.BetaWarning)
                found = dg.AssetSelection.from_string(text).resolve(graph)
        except DagsterInvalidSubsetError:
            found, reason = set(), "no asset has that key"
        except Exception as error:  # not selection syntax: Dagster's parser says where
            found, reason = set(), str(error).splitlines()[0]
        else:
            reason = "it matches no asset"
        if not found:
            near = near_matches(text, graph)
            groups = ", ".join(_names(graph)[1])
            hint = f"; did you mean {', '.join(near)}?" if near else f"; the groups are {groups} (`hub assets` lists every asset)"
            raise EmptySelection(f"--select {text!r}: {reason}{hint}")
        chosen |= found
    # an asset computed together with others (one multi-asset) runs with them: select its whole set
    together = {key for asset in chosen for key in graph.get_execution_set_asset_and_check_keys(asset)
                if isinstance(key, dg.AssetKey)}
    return sorted(chosen | together)


def _rows(metadata) -> int | None:
    value = metadata.get("dagster/row_count")
    return None if value is None else value.value


@dataclass
class RunProgress:
    """An instance event listener (``instance.add_event_listener(run_id, progress)``) that prints the run's progress."""

    out: TextIO | None = None  # None: count, print nothing
    assets: int = 0  # how many the run will materialize (set by the caller once the selection is resolved)
    heartbeat: float = 60.0
    clock: Callable[[], float] = time.monotonic
    started: float = field(init=False)
    running: dict[str, float] = field(default_factory=dict)
    done: int = 0
    failed: list[str] = field(default_factory=list)
    checks_failed: list[str] = field(default_factory=list)
    interrupted: bool = False

    def __post_init__(self):
        self.started = self.clock()
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def _say(self, text: str) -> None:
        if self.out is None:
            return
        with self._lock:
            print(f"[{self._elapsed(self.started)}] {text}", file=self.out, flush=True)

    def _elapsed(self, since: float) -> str:
        seconds = int(self.clock() - since)
        return f"{seconds // 60:>3}m{seconds % 60:02d}s"

    def __call__(self, entry) -> None:
        event = entry.dagster_event
        if event is None:
            return
        kind = event.event_type
        if kind == DagsterEventType.STEP_START:
            self.running[event.step_key] = self.clock()
            self._say(f"started   {event.step_key}")
        elif kind == DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.event_specific_data.materialization
            self.done += 1
            rows = _rows(materialization.metadata)
            self._say(f"{self.done:>4}/{self.assets:<4} {materialization.asset_key.to_user_string():<42}"
                      + ("" if rows is None else f" {rows:>10,} rows"))
        elif kind == DagsterEventType.ASSET_CHECK_EVALUATION:
            check = event.event_specific_data
            if not check.passed:
                name = f"{check.asset_key.to_user_string()}:{check.check_name}"
                self.checks_failed.append(f"{name} ({check.severity.value})")
                self._say(f"check did not pass: {name} ({check.severity.value})")
        elif kind == DagsterEventType.STEP_SUCCESS:
            self._say(f"finished  {event.step_key} in {self._seconds(event.step_key)}")
        elif kind == DagsterEventType.STEP_FAILURE:
            error = event.event_specific_data.error
            self.failed.append(event.step_key)
            if error is not None and "Interrupted" in (error.cls_name or ""):
                self.interrupted = True
            message = "interrupted" if self.interrupted else (error.message.strip().splitlines()[0] if error else "failed")
            self._say(f"FAILED    {event.step_key} after {self._seconds(event.step_key)}: {message}")
        elif kind == DagsterEventType.STEP_SKIPPED:
            self._say(f"skipped   {event.step_key} (an upstream step failed or a blocking check did not pass)")

    def _seconds(self, step: str) -> str:
        began = self.running.pop(step, self.started)
        return f"{self.clock() - began:.1f}s"

    def __enter__(self) -> RunProgress:
        if self.heartbeat > 0 and self.out is not None:
            threading.Thread(target=self._beat, daemon=True, name="hub-progress").start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat):
            for step, began in list(self.running.items()):
                self._say(f"running   {step} for {self._elapsed(began)}")
