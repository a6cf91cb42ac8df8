"""Raw zone: landing-sensor tick time over 10,000 landed files, and raw-ingest throughput.

Reference: a plain pyarrow copy of the same files (read every byte, write it elsewhere), the floor
for any ingest that must keep the original bytes. S3: the same ingest with landing and lake on moto's
server (its own process, over HTTP) next to a local folder, on the medium sample (moto holds every
object in memory); target: S3 within 2x of the folder. Reference for S3: a bare boto3 copy of the same
objects (GET and PUT, 16 at a time), the floor any S3 ingest that stores each file pays on that server,
and the GETs alone (the least any S3 ingest must do: read each landed object once).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow.fs as pafs

from benchmarks.common import Report, directory_bytes, sample, timed
from hub_platform.defs.raw.ingest import RawZone
from hub_platform.defs.raw.landing import Landing
from hub_platform.defs.raw.sensors import plan_ingestion
from hub_platform.lib.lake.store import Lake, Location
from hub_platform.sources.contract import default_registry

SENSOR_FILES = 10_000
S3_SCALE = "medium"


def run() -> Report:
    report = Report("raw_ingest")
    registry = default_registry()
    landing_root = sample() / "landing"
    files = sorted(p for p in landing_root.rglob("*") if p.is_file())
    size = directory_bytes(files)
    print(f"raw ingest: {len(files):,} files, {size / 1e6:,.1f} MB in the large sample")

    with tempfile.TemporaryDirectory(prefix="hub-bench-raw-") as scratch:
        scratch = Path(scratch)
        copy = timed()
        local = pafs.LocalFileSystem()
        with copy.running():
            for path in files:
                target = scratch / "copy" / path.relative_to(landing_root)
                local.create_dir(str(target.parent), recursive=True)
                with local.open_input_stream(str(path)) as source, local.open_output_stream(str(target)) as sink:
                    sink.write(source.read())
        raw = RawZone(Lake(Location(str(scratch / "lake"))), Landing(Location(str(landing_root))))
        ingest = timed()
        with ingest.running():
            result = raw.ingest(raw.landed(registry.sources.values()), registry.sources)
        assert result.count("ingested") + result.count("rejected") + result.count("duplicate") == len(files)
        report.add("pyarrow copy (reference)", f"{size / 1e6 / copy.seconds:8.1f} MB/s  ({copy.seconds:.2f} s)")
        report.add("raw ingest: hash + store + probe + manifest", f"{size / 1e6 / ingest.seconds:8.1f} MB/s  ({ingest.seconds:.2f} s)")
        report.add("raw ingest / copy time ratio", f"{ingest.seconds / copy.seconds:8.2f} x")

        sensor_landing = _many_files(scratch / "many", files, SENSOR_FILES, registry)
        landing = Landing(Location(str(sensor_landing)))
        first = timed()
        with first.running():
            plan = plan_ingestion(landing, registry, {}, set(), max_files=SENSOR_FILES)
        assert sum(len(b.files) for b in plan.batches) + len(plan.repeated) == SENSOR_FILES
        idle = timed()
        with idle.running():
            again = plan_ingestion(landing, registry, plan.cursor, set(), max_files=SENSOR_FILES)
        assert not again.batches
        report.add(f"sensor tick, {SENSOR_FILES:,} new files (list + hash)", f"{first.seconds:8.2f} s  ({first.seconds / SENSOR_FILES * 1e3:.2f} ms/file)")
        report.add(f"sensor tick, nothing new among {SENSOR_FILES:,} files", f"{idle.seconds * 1e3:8.1f} ms")
        shutil.rmtree(sensor_landing)
        _local_versus_s3(report, registry, scratch)
    report.save()
    return report


def _local_versus_s3(report: Report, registry, scratch: Path) -> None:
    """The same ingest with landing and lake in a local folder and on moto's S3 server."""
    import boto3

    from hub_platform.lib.lake.store import S3Settings
    from hub_platform_tests.conftest import MOTO_KEYS, free_port, stop_group, wait_for_http

    landing_root = sample(S3_SCALE) / "landing"
    files = sorted(p for p in landing_root.rglob("*") if p.is_file())
    size = directory_bytes(files)
    load_at_start = os.getloadavg()
    local_before, local_cpu_before = _local_ingest(registry, landing_root, scratch / "s3-reference-lake-before")

    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        wait_for_http(f"{endpoint}/moto-api/", server, timeout=60)
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **MOTO_KEYS)
        client.create_bucket(Bucket="hub")
        def land(path: Path) -> None:  # the sources' work, not the ingest's: not timed
            client.put_object(Bucket="hub", Key=f"landing/{path.relative_to(landing_root)}", Body=path.read_bytes())

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(land, files))
        copied = timed()  # the S3 floor: read every landed object and write it elsewhere, as concurrently

        def copy(path: Path) -> None:
            key = str(path.relative_to(landing_root))
            body = client.get_object(Bucket="hub", Key=f"landing/{key}")["Body"].read()
            client.put_object(Bucket="hub", Key=f"copy/{key}", Body=body)

        with copied.running(), ThreadPoolExecutor(16) as pool:
            list(pool.map(copy, files))
        fetched = timed()  # what no S3 ingest can avoid: one GET per landed object

        def get(path: Path) -> None:
            client.get_object(Bucket="hub", Key=f"landing/{path.relative_to(landing_root)}")["Body"].read()

        with fetched.running(), ThreadPoolExecutor(16) as pool:
            list(pool.map(get, files))
        s3 = S3Settings(endpoint_url=endpoint, access_key_id=MOTO_KEYS["aws_access_key_id"],
                        secret_access_key=MOTO_KEYS["aws_secret_access_key"], allow_http=True)
        remote = RawZone(Lake(Location("s3://hub/lake", s3)), Landing(Location("s3://hub/landing", s3)))
        s3_time = timed()
        client_cpu, server_cpu = time.process_time(), _cpu_seconds(server.pid)
        with s3_time.running():
            result = remote.ingest(remote.landed(registry.sources.values()), registry.sources)
        client_cpu, server_cpu = time.process_time() - client_cpu, _cpu_seconds(server.pid) - server_cpu
        assert result.deliveries.num_rows == len(files)
    finally:
        stop_group(server)
    # the folder is timed before and after the S3 runs: on a shared machine the load moves in between
    local_after, local_cpu_after = _local_ingest(registry, landing_root, scratch / "s3-reference-lake-after")
    local_seconds, local_cpu = (local_before + local_after) / 2, (local_cpu_before + local_cpu_after) / 2
    label = f"{S3_SCALE} sample, {len(files):,} files, {size / 1e6:,.1f} MB"
    report.add(f"raw ingest, local folder ({label}), before / after S3", f"{local_before:.2f} s / {local_after:.2f} s")
    report.add("raw ingest, local folder (mean of the two)", f"{size / 1e6 / local_seconds:8.1f} MB/s  ({local_seconds:.2f} s)")
    report.add("raw ingest, moto S3 over HTTP (same files)", f"{size / 1e6 / s3_time.seconds:8.1f} MB/s  ({s3_time.seconds:.2f} s)")
    report.add("raw ingest S3 / local time ratio (target <= 2)", f"{s3_time.seconds / local_seconds:8.2f} x")
    # CPU seconds do not depend on the machine's load the way wall time does (under load each process
    # gets its share, so the two-process S3 ingest gets more of the machine than the one-process folder)
    report.add("CPU seconds: local folder / S3 (hub process + moto server)",
               f"{local_cpu:.2f} s / {client_cpu:.2f} s + {server_cpu:.2f} s")
    report.add("raw ingest S3 / local CPU-seconds ratio", f"{(client_cpu + server_cpu) / local_cpu:8.2f} x")
    report.add("reference: boto3 GET + PUT of the same objects on moto, 16 at a time",
               f"{size / 1e6 / copied.seconds:8.1f} MB/s  ({copied.seconds:.2f} s)")
    report.add("raw ingest on S3 / that copy", f"{s3_time.seconds / copied.seconds:8.2f} x")
    report.add("reference: boto3 GET alone of the same objects, 16 at a time",
               f"{size / 1e6 / fetched.seconds:8.1f} MB/s  ({fetched.seconds:.2f} s)")
    report.add("that GET alone / raw ingest on a local folder", f"{fetched.seconds / local_seconds:8.2f} x")
    report.add("load average (1, 5, 15 min) at the start of the S3 part", "  ".join(f"{load:.1f}" for load in load_at_start))
    report.add("load average (1, 5, 15 min) at the end", "  ".join(f"{load:.1f}" for load in os.getloadavg()))


def _local_ingest(registry, landing_root: Path, lake_root: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one raw ingest of ``landing_root`` into a fresh local lake."""
    local = RawZone(Lake(Location(str(lake_root))), Landing(Location(str(landing_root))))
    took, cpu = timed(), time.process_time()
    with took.running():
        local.ingest(local.landed(registry.sources.values()), registry.sources)
    return took.seconds, time.process_time() - cpu


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of another process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _many_files(root: Path, files: list[Path], count: int, registry) -> Path:
    """A landing area of ``count`` small files: the sample's files cut into line-aligned pieces."""
    csv_files = [f for f in files if registry.sources[f.parent.name].format.type == "csv"]
    per_file = -(-count // len(csv_files))
    made = 0
    for path in csv_files:
        header, *lines = path.read_bytes().splitlines(keepends=True)
        step = max(1, len(lines) // per_file)
        for i in range(per_file):
            if made == count:
                return root
            chunk = lines[i * step : (i + 1) * step] or lines[-1:]
            target = root / path.parent.name / f"{path.stem}_part{i:05d}.csv"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(header + b"".join(chunk))
            made += 1
    return root


if __name__ == "__main__":
    run()
