"""The landing sensor and the nightly reconciliation: how raw/ notices new files without a person.

The landing sensor plays the part of S3 → EventBridge: it keeps, per source, the last landing key it
has seen (keys sort in arrival order), lists only what came after, hashes the new files and asks
for one run per feed with a run key derived from their content hashes. Bytes the raw zone already
holds, or that repeat within a tick, are not requested again; Dagster drops any run key it has seen.
"""

import json
from collections import defaultdict
from dataclasses import dataclass, field

import dagster as dg

from hub_platform.defs.raw.assets import RawIngestConfig, raw_key
from hub_platform.defs.raw.landing import Landing, sha256
from hub_platform.lib.resources import StorageResource
from hub_platform.sources.contract import Registry

FILES_PER_RUN = 500


@dataclass(frozen=True)
class FeedBatch:
    """New files of one feed, ingested together by one run."""

    feed: str
    files: tuple[tuple[str, str], ...]  # (landing key, checksum)

    @property
    def run_key(self) -> str:
        deliveries = sorted(f"{key.split('/', 1)[0]}:{checksum}" for key, checksum in self.files)  # (source, bytes)
        return f"{self.feed}:{sha256(''.join(deliveries).encode())[:40]}"


@dataclass
class IngestionPlan:
    batches: list[FeedBatch]
    cursor: dict[str, str]
    repeated: list[str] = field(default_factory=list)  # keys whose bytes are already held
    more_waiting: bool = False
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (key, why): reconciliation tries them again


def plan_ingestion(
    landing: Landing,
    registry: Registry,
    cursor: dict[str, str],
    held: set[tuple[str, str]],
    *,
    max_files: int = 2_000,
    max_bytes: int = 2 << 30,
) -> IngestionPlan:
    """What a sensor tick should request, reading only files that landed after the cursor.

    Entries a listing does not ingest (links, sub-folders, unfinished or non-UTF-8 names) never reach
    it (defs/raw/landing.py), and a file that cannot be read is skipped alone: no source's odd entry
    stops the tick for the others."""
    cursor = dict(cursor)
    by_feed: dict[str, list[tuple[str, str]]] = defaultdict(list)
    seen = set(held)
    repeated: list[str] = []
    unreadable: list[tuple[str, str]] = []
    files_read = bytes_read = 0
    more_waiting = False
    for source, contract in registry.sources.items():
        if files_read >= max_files or bytes_read >= max_bytes:
            more_waiting = True
            break
        for landed in landing.list_after(source, cursor.get(source), limit=max_files - files_read):
            if bytes_read and bytes_read + landed.size > max_bytes:
                more_waiting = True
                break
            cursor[source] = landed.key
            try:
                checksum = sha256(landing.read(landed.key))
            except OSError as error:  # gone or swapped for a link since listing: this file only, not the tick
                unreadable.append((landed.key, error.strerror or str(error)))
                continue
            files_read, bytes_read = files_read + 1, bytes_read + landed.size
            if (source, checksum) in seen:  # a repeat is the same bytes from the same source
                repeated.append(landed.key)
                continue
            seen.add((source, checksum))
            by_feed[contract.feed].append((landed.key, checksum))
    batches = [
        FeedBatch(feed, tuple(files[i : i + FILES_PER_RUN]))
        for feed, files in sorted(by_feed.items())
        for i in range(0, len(files), FILES_PER_RUN)
    ]
    return IngestionPlan(batches, cursor, repeated, more_waiting, unreadable)


def run_rounds(batches: list[FeedBatch]) -> list[list[FeedBatch]]:
    """Batches grouped into as few runs as a run can hold: one batch per feed per run (a run gives each
    raw asset one list of files), so a freshly seeded landing area of 22 feeds is one run, not 22."""
    by_feed: dict[str, list[FeedBatch]] = defaultdict(list)
    for batch in batches:
        by_feed[batch.feed].append(batch)
    return [[queue[i] for queue in by_feed.values() if i < len(queue)] for i in range(max(map(len, by_feed.values()), default=0))]


def _clean_key(feed: str) -> dg.AssetKey:
    return dg.AssetKey(["clean", feed])


def landing_sensor(registry: Registry, live: dict[str, list[dg.AssetKey]] | None = None) -> dg.SensorDefinition:
    """``live``: per feed, the assets to run in the same run as its raw ingest, for feeds whose consumers
    cannot wait for automation to carry the data zone by zone. They join a run once they have been built
    (their own inputs exist then); before that, automation builds them in order.

    Each run ingests the new files of every feed in the tick and conforms them into clean/ in the same
    run: one run per tick (more only when a feed has more than FILES_PER_RUN new files), instead of a
    raw run per feed and an automation run per clean asset."""
    live = live or {}
    live_keys = [key for keys in live.values() for key in keys]

    @dg.sensor(
        name="landing_sensor",
        description="Notices new files in the landing area (cursor per source) and ingests them into raw/; "
        f"for live feeds ({', '.join(sorted(live)) or 'none'}) the same run carries them on through clean to their consumers.",
        minimum_interval_seconds=15,
        target=dg.AssetSelection.groups("raw", "clean") | dg.AssetSelection.assets(*live_keys),
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def _landing_sensor(context: dg.SensorEvaluationContext, storage: StorageResource):
        raw = storage.raw()
        plan = plan_ingestion(raw.landing, registry, json.loads(context.cursor or "{}"), raw.held())
        for key in plan.repeated:
            context.log.info(f"{key}: bytes already in raw, not ingested again (recorded by reconciliation)")
        for key, why in plan.unreadable:
            context.log.warning(f"{key}: could not be read ({why}); the nightly reconciliation tries it again")
        for batches in run_rounds(plan.batches):
            feeds = [batch.feed for batch in batches]
            live_ready = [key for feed in feeds for key in live.get(feed, [])
                          if all(raw.lake.has_table(*k.path) for k in live[feed])]
            yield dg.RunRequest(
                run_key=sha256("|".join(sorted(batch.run_key for batch in batches)).encode())[:40],
                asset_selection=list(dict.fromkeys([*(k for f in feeds for k in (raw_key(f), _clean_key(f))), *live_ready])),
                run_config=dg.RunConfig(
                    ops={f"raw__{batch.feed}": RawIngestConfig(files=[key for key, _ in batch.files]) for batch in batches}
                ),
                tags={"hub/trigger": "landing_sensor", "hub/feeds": ",".join(feeds)[:200],
                      "hub/files": str(sum(len(batch.files) for batch in batches))},
            )
        context.update_cursor(json.dumps(plan.cursor, sort_keys=True))
        if not plan.batches:
            yield dg.SkipReason(
                "nothing new in the landing area" if not plan.repeated else f"{len(plan.repeated)} repeated deliveries only"
            )

    return _landing_sensor


raw_reconciliation = dg.ScheduleDefinition(
    name="raw_reconciliation",
    description="Nightly safety net: ingests any landed file the sensor did not see (e.g. keys that sort "
    "before its cursor) and records repeated deliveries in the manifest.",
    cron_schedule="30 1 * * *",
    target=dg.AssetSelection.groups("raw"),
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
