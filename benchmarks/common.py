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


def clean_hub(scale: str = "large", seed: int = 7) -> Path:
    """A hub home whose raw and clean zones hold the sample, built once without Dagster (as the
    clean_zone benchmark does) and kept under benchmarks/results, for benchmarks of later zones."""
    from hub_platform.defs.clean.processing import CleanZone
    from hub_platform.defs.raw.ingest import RawZone
    from hub_platform.defs.raw.landing import Landing
    from hub_platform.lib.lake.store import Lake, Location
    from hub_platform.sources.contract import default_registry

    home = RESULTS / f"hub-{scale}-{seed}"
    ready = home / "clean.ready"
    if not ready.exists():
        source = sample(scale, seed)
        home.mkdir(parents=True, exist_ok=True)
        for part in ("landing", "truth"):
            if not (home / part).exists():
                (home / part).symlink_to(source / part)
        print(f"building the raw and clean zones of the {scale} sample in {home} …", flush=True)
        registry = default_registry()
        raw = RawZone(Lake(Location(str(home / "lake"))), Landing(Location(str(home / "landing"))))
        raw.ingest(raw.landed(registry.sources.values()), registry.sources)
        zone = CleanZone(raw.lake)
        for feed, contracts in registry.feeds.items():  # in the feed's entity shape, as the clean assets write it
            zone.process(raw, contracts, entity=registry.feed_entity(feed))
        ready.write_text("raw and clean built\n")
    return home


@contextmanager
def hub_home(home: Path) -> Iterator[None]:
    """Point the hub (resources, Dagster instance) at ``home`` for the duration."""
    saved = {k: os.environ.get(k) for k in ("HUB_HOME", "DAGSTER_HOME")}
    (home / "dagster").mkdir(parents=True, exist_ok=True)
    (home / "dagster" / "dagster.yaml").write_text((Path(__file__).parents[1] / "dagster.yaml").read_text())
    os.environ.update(HUB_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def materialization_metadata(result) -> dict[str, dict]:
    """asset key -> {metadata name: value} of an in-process run's materializations."""
    return {
        event.asset_key.to_user_string(): {k: v.value for k, v in event.event_specific_data.materialization.metadata.items()}
        for event in result.get_asset_materialization_events()
    }
