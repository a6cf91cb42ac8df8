"""What every benchmark shares: a timer, the large sample (generated once, cached), result printing."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


@dataclass
class Stopwatch:
    seconds: float = 0.0

    @contextmanager
    def running(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - started


def timed() -> Stopwatch:
    return Stopwatch()


def sample(scale: str = "large", seed: int = 7) -> Path:
    """The generated sample for ``scale``, kept under benchmarks/results so reruns skip generation."""
    from hub_platform.seed.generator import generate

    out = Path(os.environ.get("HUB_BENCH_SAMPLE", RESULTS / f"sample-{scale}-{seed}"))
    if not (out / "landing").exists():
        print(f"generating the {scale} sample into {out} …", flush=True)
        print(generate(scale, out, seed=seed), flush=True)
    return out


@dataclass
class Report:
    name: str
    rows: list[tuple[str, str]] = field(default_factory=list)

    def add(self, label: str, value: str) -> None:
        self.rows.append((label, value))
        print(f"  {label:<58} {value}", flush=True)

    def save(self) -> None:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"{self.name}.json").write_text(json.dumps(dict(self.rows), indent=2))


def directory_bytes(files: list[Path]) -> int:
    return sum(f.stat().st_size for f in files)
