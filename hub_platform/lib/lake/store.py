"""The lake: Delta tables (through deltalake) and immutable objects, on a local folder or S3.

This module is the only code that knows Delta and S3. Zones ask it for tables by ``(zone, name)``
and for objects by key; where the root lives (``/path`` or ``s3://bucket/prefix``) is configuration.
Spark never writes here: it computes, hands Arrow over, and this module commits.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Literal
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, TableNotFoundError

FIRST_COMMIT = "_delta_log/00000000000000000000.json"
CHECKPOINT_POINTER = "_delta_log/_last_checkpoint"  # what remains once old commits are cleaned up
COMMIT_ATTEMPTS = 5
S3_CONNECTIONS = 32  # per client: above the ingest's requests in flight, so none waits for a connection


@dataclass(frozen=True)
class S3Settings:
    """How to reach an S3-compatible endpoint; secrets come from the environment, never from code."""

    endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    region: str = "us-east-1"
    allow_http: bool = False
    locking_provider: str | None = None  # "dynamodb": delta-rs locks commits, so a table may have concurrent writers
    lock_table: str | None = None

    def storage_options(self) -> dict[str, str]:
        """Options for deltalake (object_store keys)."""
        options = {"AWS_REGION": self.region}
        if self.endpoint_url:
            options["AWS_ENDPOINT_URL"] = self.endpoint_url
        if self.access_key_id:
            options["AWS_ACCESS_KEY_ID"] = self.access_key_id
        if self.secret_access_key:
            options["AWS_SECRET_ACCESS_KEY"] = self.secret_access_key
        if self.allow_http:
            options["AWS_ALLOW_HTTP"] = "true"
        # Delta on S3 needs a lock for concurrent writers to one table. With a locking provider
        # (DynamoDB) delta-rs uses it; without one, writes are safe only while each table has a
        # single writer, which is how the hub's assets are laid out.
        if self.locking_provider:
            options["AWS_S3_LOCKING_PROVIDER"] = self.locking_provider
            if self.lock_table:
                options["DELTA_DYNAMO_TABLE_NAME"] = self.lock_table
        else:
            options["AWS_S3_ALLOW_UNSAFE_RENAME"] = "true"
        return options

    def filesystem(self) -> pafs.S3FileSystem:
        endpoint = urlparse(self.endpoint_url) if self.endpoint_url else None
        return pafs.S3FileSystem(
            access_key=self.access_key_id,
            secret_key=self.secret_access_key,
            region=self.region,
            endpoint_override=endpoint.netloc if endpoint else None,
            scheme=endpoint.scheme if endpoint else "https",
        )


@dataclass(frozen=True)
class Location:
    """A root folder that is either local or on S3, with a pyarrow filesystem to reach it."""

    root: str
    s3: S3Settings = field(default_factory=S3Settings)

    @property
    def is_s3(self) -> bool:
        return self.root.startswith("s3://")

    @cached_property
    def filesystem(self) -> pafs.FileSystem:
        return self.s3.filesystem() if self.is_s3 else pafs.LocalFileSystem()

    @cached_property
    def _base(self) -> str:
        """Root as the pyarrow filesystem names it (``bucket/prefix`` on S3, absolute path locally)."""
        return self.root.removeprefix("s3://").rstrip("/") if self.is_s3 else os.path.abspath(self.root)

    def uri(self, *parts: str) -> str:
        base = self.root.rstrip("/") if self.is_s3 else self._base
        return "/".join([base, *parts])

    def path(self, *parts: str) -> str:
        return "/".join([self._base, *parts])

    @property
    def storage_options(self) -> dict[str, str] | None:
        return self.s3.storage_options() if self.is_s3 else None

    def path_of(self, uri: str) -> str:
        """A full URI (as delta-rs reports files) as this location's filesystem names it."""
        if uri.startswith("s3://"):
            return uri.removeprefix("s3://")
        return uri.removeprefix("file://")

    @cached_property
    def s3_client(self):
        """A boto3 S3 client (thread-safe): one request per object read or write, where pyarrow's
        filesystem sends two (and a listing for every object it does not find)."""
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.s3.endpoint_url, aws_access_key_id=self.s3.access_key_id,
                            aws_secret_access_key=self.s3.secret_access_key, region_name=self.s3.region,
                            config=Config(max_pool_connections=S3_CONNECTIONS))

    def _bucket_key(self, *parts: str) -> tuple[str, str]:
        bucket, _, key = self.path(*parts).partition("/")
        return bucket, key

    def read_bytes(self, *parts: str) -> bytes:
        if self.is_s3:
            bucket, key = self._bucket_key(*parts)
            try:
                return self.s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
            except self.s3_client.exceptions.NoSuchKey:  # as a local read would say it
                raise FileNotFoundError(errno.ENOENT, "no such object", self.uri(*parts)) from None
        with self.filesystem.open_input_stream(self.path(*parts)) as stream:
            return stream.read()

    def create_once(self, data: bytes, *parts: str) -> bool:
        """Write unless something is already there; returns whether this call wrote it.

        On S3 one conditional PUT (``If-None-Match: *``) decides, so two writers cannot both win."""
        if not self.is_s3:
            if self.exists(*parts):
                return False
            self.write_bytes(data, *parts)
            return True
        bucket, key = self._bucket_key(*parts)
        try:
            self.s3_client.put_object(Bucket=bucket, Key=key, Body=data, IfNoneMatch="*")
        except self.s3_client.exceptions.ClientError as error:
            if error.response["Error"]["Code"] in {"PreconditionFailed", "ConditionalRequestConflict"}:
                return False
            raise
        return True

    def exists(self, *parts: str) -> bool:
        return self.filesystem.get_file_info(self.path(*parts)).type != pafs.FileType.NotFound

    def write_bytes(self, data: bytes, *parts: str) -> None:
        """Write through a temporary name and move into place, so a reader never sees half a file."""
        target = self.path(*parts)
        if self.is_s3:  # an S3 PUT is atomic on its own
            with self.filesystem.open_output_stream(target) as stream:
                stream.write(data)
            return
        self.filesystem.create_dir(target.rsplit("/", 1)[0], recursive=True)
        temporary = f"{target}.{os.getpid()}.partial"
        with self.filesystem.open_output_stream(temporary) as stream:
            stream.write(data)
        self.filesystem.move(temporary, target)


WriteMode = Literal["append", "overwrite"]


class TableNotFound(LookupError):
    """A table that has not been materialized (yet) was asked for."""


def _expression(filters: list[tuple] | None) -> ds.Expression | None:
    """``[("column", "=", value), ...]`` (all must hold) as a pyarrow dataset filter."""
    if not filters:
        return None
    operators = {"=": "__eq__", "!=": "__ne__", "<": "__lt__", "<=": "__le__", ">": "__gt__", ">=": "__ge__"}
    expression = None
    for column, operator, value in filters:
        term = ds.field(column).isin(value) if operator == "in" else getattr(ds.field(column), operators[operator])(value)
        expression = term if expression is None else expression & term
    return expression


def _retrying(merge: Callable[[], dict]) -> dict:
    """Run a MERGE, re-planning it on the new version when another writer committed first.

    delta-rs refuses a MERGE's commit when a concurrent transaction added data it did not read
    (CommitFailedError); since every MERGE here is keyed, running it again on the new version does what
    is still left to do (nothing, when the other writer delivered the same rows)."""
    for attempt in range(COMMIT_ATTEMPTS):
        try:
            return merge()
        except CommitFailedError:
            if attempt == COMMIT_ATTEMPTS - 1:
                raise
            time.sleep(0.05 * 2**attempt)
    raise AssertionError("unreachable")


class Lake:
    """Zones of Delta tables plus a content-addressed object store under one root."""

    def __init__(self, location: Location):
        self.location = location

    @property
    def root(self) -> str:
        return self.location.root

    # -- Delta tables -------------------------------------------------------------------------
    def table_uri(self, zone: str, name: str) -> str:
        return self.location.uri(zone, name)

    def delta(self, zone: str, name: str, version: int | None = None) -> DeltaTable:
        try:
            return DeltaTable(self.table_uri(zone, name), version=version, storage_options=self.location.storage_options)
        except TableNotFoundError:
            if self.half_written(zone, name):
                raise TableNotFound(
                    f"{zone}/{name} in {self.root} has a _delta_log without a commit: its first write did not finish, "
                    "so it holds no data. Materializing it again writes its first version over it; nothing to "
                    "remove by hand") from None
            raise TableNotFound(f"{zone}/{name} does not exist yet in {self.root}; materialize it first") from None

    def has_table(self, zone: str, name: str) -> bool:
        """Whether the table has a committed version. A ``_delta_log/`` without a commit (a crash during
        the first commit) is not a table: the next write creates version 0 over it, which repairs it.

        Asked of the filesystem, not DeltaTable.is_deltatable: on S3 that call retries for minutes
        when the table does not exist yet (seen against moto's server)."""
        return self.location.exists(zone, name, FIRST_COMMIT) or self.location.exists(zone, name, CHECKPOINT_POINTER)

    def half_written(self, zone: str, name: str) -> bool:
        """A ``_delta_log/`` with no commit in it: what a crash during a table's first commit leaves."""
        return self.location.exists(zone, name, "_delta_log") and not self.has_table(zone, name)

    def read(
        self,
        zone: str,
        name: str,
        *,
        columns: list[str] | None = None,
        version: int | datetime | None = None,
        filters: list[tuple] | None = None,
    ) -> pa.Table:
        """The table's current snapshot (or ``version``: a version number or a point in time) as Arrow.

        The snapshot's data files are read with pyarrow's own filesystem rather than through
        ``DeltaTable.to_pyarrow_table``: with the latter, the process intermittently aborts at exit
        ("terminate called without an active exception", delta-rs#2184). The hub writes no deletion
        vectors or column mapping, so the snapshot's files are exactly its rows.
        """
        return self.dataset(zone, name, version).to_table(columns=columns, filter=_expression(filters))

    def dataset(self, zone: str, name: str, version: int | datetime | None = None) -> ds.Dataset:
        """The snapshot as a lazy pyarrow dataset (what DuckDB and pandas read without loading it all).

        ``version`` is a version number or a point in time (the version current then; naive times are
        UTC). A time before the table's first version is an error, not its first version, which is
        what delta-rs would otherwise return.
        """
        table = self.delta(zone, name, version if isinstance(version, int) else None)
        if isinstance(version, datetime):
            as_of = version if version.tzinfo else version.replace(tzinfo=UTC)
            created = datetime.fromtimestamp(table.history()[-1]["timestamp"] / 1000, UTC)
            if as_of < created:
                raise TableNotFound(f"{zone}/{name} did not exist yet at {as_of:%Y-%m-%d %H:%M:%S} UTC; "
                                    f"its first version was written at {created:%Y-%m-%d %H:%M:%S} UTC")
            table.load_as_version(as_of)
        schema = pa.schema(table.schema().to_arrow())
        paths = [self.location.path_of(uri) for uri in table.file_uris()]
        return ds.dataset(paths, schema=schema, format="parquet", filesystem=self.location.filesystem)

    def read_or_empty(self, zone: str, name: str, schema: pa.Schema, *, columns: list[str] | None = None) -> pa.Table:
        if self.has_table(zone, name):
            return self.read(zone, name, columns=columns)
        empty = schema.empty_table()
        return empty.select(columns) if columns else empty

    def write(
        self,
        data: pa.Table,
        zone: str,
        name: str,
        *,
        mode: WriteMode = "append",
        partition_by: list[str] | None = None,
        predicate: str | None = None,
        schema_mode: Literal["merge", "overwrite"] | None = None,
    ) -> int:
        """Append or overwrite (all, or the rows matching ``predicate``); returns the new version."""
        write_deltalake(
            self.table_uri(zone, name),
            data,
            mode=mode,
            partition_by=partition_by,
            predicate=predicate,
            schema_mode=schema_mode,
            storage_options=self.location.storage_options,
        )
        return self.delta(zone, name).version()

    def upsert(
        self,
        data: pa.Table,
        zone: str,
        name: str,
        *,
        keys: list[str],
        update_when: str | None = None,
        delete_when: str | None = None,
        insert_only: bool = False,
    ) -> dict[str, int]:
        """MERGE ``data`` (alias ``s``) into the table (alias ``t``) on ``keys``. Re-running it changes nothing.

        ``update_when``: SQL condition for a match to be updated (e.g. only newer deliveries win).
        ``delete_when``: SQL condition on ``s`` marking deletions: matches are deleted, and such
        rows are never inserted. ``insert_only``: keep existing rows, add the unmatched ones.
        """
        if not self.has_table(zone, name):  # one code path: create the table empty, then merge
            self.write(data.schema.empty_table(), zone, name)
        on = " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys)

        def merge() -> dict:
            plan = self.delta(zone, name).merge(source=data, predicate=on, source_alias="s", target_alias="t")
            if delete_when:
                plan = plan.when_matched_delete(predicate=delete_when)
            if not insert_only:
                conditions = [c for c in (update_when, f"NOT ({delete_when})" if delete_when else None) if c]
                plan = plan.when_matched_update_all(predicate=" AND ".join(conditions) or None)
            return plan.when_not_matched_insert_all(predicate=f"NOT ({delete_when})" if delete_when else None).execute()

        metrics = _retrying(merge)
        return {k: v for k, v in metrics.items() if k.startswith("num_target_rows")}

    def sync(self, data: pa.Table, zone: str, name: str, *, keys: list[str]) -> dict[str, int]:
        """Make the table hold exactly ``data``, changing only what differs (one MERGE on ``keys``).

        Rows whose values changed are updated, new rows inserted, rows gone from ``data`` deleted.
        A rerun on the same data matches everything, changes nothing and commits no new version, so
        a derived table recomputed in full stays idempotent and its Delta log records real changes
        only. A change of schema (the model evolved) replaces the table in one overwrite.
        """
        # Spark marks columns not-null by how a query was written; the table's model is names and types
        data = data.cast(pa.schema([field.with_nullable(True) for field in data.schema]))
        if not self.has_table(zone, name):
            self.write(data, zone, name)
            return {"num_target_rows_inserted": data.num_rows}
        if pa.schema(self.delta(zone, name).schema().to_arrow()) != data.schema:
            self.write(data, zone, name, mode="overwrite", schema_mode="overwrite")
            return {"num_target_rows_inserted": data.num_rows, "schema_replaced": 1}
        changed = " OR ".join(f"(t.`{c}` IS DISTINCT FROM s.`{c}`)" for c in data.column_names if c not in keys)

        def merge() -> dict:
            plan = self.delta(zone, name).merge(
                source=data, predicate=" AND ".join(f"t.`{k}` = s.`{k}`" for k in keys), source_alias="s", target_alias="t")
            if changed:
                plan = plan.when_matched_update_all(predicate=changed)
            return plan.when_not_matched_insert_all().when_not_matched_by_source_delete().execute()

        metrics = _retrying(merge)
        return {k: v for k, v in metrics.items() if k.startswith("num_target_rows") and k != "num_target_rows_copied"}

    def version(self, zone: str, name: str) -> int:
        return self.delta(zone, name).version()

    def history(self, zone: str, name: str, limit: int | None = None) -> list[dict]:
        return self.delta(zone, name).history(limit)

    def tables(self, zone: str) -> list[str]:
        """Names of the Delta tables in a zone (one level deep)."""
        selector = pafs.FileSelector(self.location.path(zone), allow_not_found=True)
        folders = [i.base_name for i in self.location.filesystem.get_file_info(selector) if i.type == pafs.FileType.Directory]
        return sorted(f for f in folders if self.has_table(zone, f))

    # -- immutable objects --------------------------------------------------------------------
    def object_key(self, checksum: str) -> str:
        return f"raw/objects/sha256/{checksum[:2]}/{checksum}"

    def put_object(self, checksum: str, data: bytes) -> bool:
        """Store bytes under their content hash; never overwrite. Returns whether they were new."""
        return self.location.create_once(data, self.object_key(checksum))

    def get_object(self, checksum: str) -> bytes:
        return self.location.read_bytes(self.object_key(checksum))
