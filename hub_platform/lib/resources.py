"""Resources and the hub's one configuration surface: every environment variable the hub reads is
declared in ``SETTINGS`` below, once, with its default and meaning.

Runs, the CLI and ``hub serve`` resolve them the same way: :func:`build_resources` gives Dagster the
resources with ``dg.EnvVar`` fields (the UI shows where a value came from, secrets never enter code
or metadata), and :func:`configured` initializes those same resources outside Dagster, resolving
each ``EnvVar`` exactly as a run does. A setting left unset takes its default; roots default under
``HUB_HOME`` when they are used, not when the code is loaded. The README's configuration table is
:func:`settings_table`'s output (a test keeps them equal).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import dagster as dg
from dagster_aws.utils import ResourceWithBoto3Configuration, construct_boto_client_retry_config
from pydantic import PrivateAttr

from hub_platform.defs.raw.ingest import RawZone
from hub_platform.defs.raw.landing import Landing
from hub_platform.lib.lake.store import Lake, Location, S3Settings
from hub_platform.lib.spark import SparkSettings, spark_session

Scope = Literal["deployment", "machine", "person"]


@dataclass(frozen=True)
class Setting:
    """One environment variable the hub reads.

    ``scope`` says who chooses it: ``deployment`` settings are passed to every Dagster service of a
    deployment (compose sets each of them), ``machine`` settings have defaults that fit one host,
    ``person`` settings belong to whoever runs a command (role, clean-room k).
    """

    name: str
    meaning: str
    default: str  # as the README shows it
    scope: Scope = "deployment"
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting("HUB_HOME", "folder for everything local: lake, landing, truth, outbox, Spark scratch", "./.hub", "machine"),
    Setting("HUB_LAKE_ROOT", "lake root: a folder or s3://bucket/prefix", "$HUB_HOME/lake"),
    Setting("HUB_LANDING_ROOT", "landing area: a folder or s3://bucket/prefix", "$HUB_HOME/landing"),
    Setting("HUB_TRUTH_ROOT", "the seed generator's ground truth (quality measurement only)", "$HUB_HOME/truth"),
    Setting("AWS_ENDPOINT_URL_S3", "S3 endpoint (MinIO, moto); unset: AWS_ENDPOINT_URL, else AWS", "AWS"),
    Setting("AWS_ENDPOINT_URL_SNS", "SNS endpoint; unset: AWS_ENDPOINT_URL, else AWS", "AWS", "machine"),
    Setting("AWS_ENDPOINT_URL", "one endpoint for every AWS service (boto3's own fallback)", "AWS", "machine"),
    Setting("AWS_ACCESS_KEY_ID", "S3/SNS access key", "boto3's credential chain", secret=True),
    Setting("AWS_SECRET_ACCESS_KEY", "S3/SNS secret key", "boto3's credential chain", secret=True),
    Setting("AWS_REGION", "AWS region", "us-east-1"),
    Setting("AWS_S3_LOCKING_PROVIDER", "`dynamodb`: lock Delta commits on S3 so tables may have concurrent writers",
            "unset: one writer per table", "machine"),
    Setting("DELTA_DYNAMO_TABLE_NAME", "DynamoDB table of that lock", "delta_log", "machine"),
    Setting("HUB_SNS_TOPIC_ARN", "alerts go to this SNS topic instead of the local outbox", "unset: $HUB_HOME/outbox"),
    Setting("HUB_PII_HASH_KEY", "secret key of the keyed hash that masks personal data for analysts", "required to mask",
            secret=True),
    Setting("HUB_SPARK_MASTER", "Spark master: local[N], spark://host:7077, yarn, or Spark Connect sc://host:15002",
            "local[2]"),
    Setting("HUB_SPARK_DRIVER_MEMORY", "driver JVM heap", "4g", "machine"),
    Setting("HUB_SPARK_SHUFFLE_PARTITIONS", "spark.sql.shuffle.partitions and default parallelism", "4", "machine"),
    Setting("HUB_SPARK_DRIVER_HOST", "address the driver advertises to a cluster's executors", "Spark's choice",
            "machine"),
    Setting("HUB_SPARK_BIND_ADDRESS", "address the driver listens on", "Spark's choice", "machine"),
    Setting("HUB_SPARK_DRIVER_PORT", "driver RPC port (open it to the executors)", "random", "machine"),
    Setting("HUB_SPARK_BLOCK_MANAGER_PORT", "block manager port on driver and executors", "random", "machine"),
    Setting("HUB_SPARK_PYTHON", "Python interpreter of the executors' workers", "this interpreter", "machine"),
    Setting("HUB_SPARK_CHECKPOINT_DIR", "Spark checkpoint folder; on a cluster one every executor reaches (hdfs://, s3a://)",
            "$HUB_HOME/spark/checkpoints", "machine"),
    Setting("HUB_ROLE", "default role of `hub sql` and `hub customer`", "analyst", "person"),
    Setting("HUB_CLEANROOM_K", "default smallest group `hub cleanroom` returns", "10", "person"),
)
_DECLARED = {setting.name for setting in SETTINGS}


def settings_table() -> str:
    """The README's configuration table."""
    rows = [f"| `{s.name}` | {s.meaning}{' (secret)' if s.secret else ''} | {s.default} | {s.scope} |" for s in SETTINGS]
    return "\n".join(["| variable | meaning | default | chosen per |", "|---|---|---|---|", *rows])


def _setting(*names: str, default=None):
    """``dg.EnvVar`` of the first of ``names`` set in the environment, else ``default``."""
    unknown = set(names) - _DECLARED
    if unknown:
        raise KeyError(f"{sorted(unknown)} not declared in SETTINGS")
    for name in names:
        if os.environ.get(name):
            return dg.EnvVar(name)
    return default


def _int_setting(name: str, default: int | None):
    if name not in _DECLARED:
        raise KeyError(f"{name} not declared in SETTINGS")
    return dg.EnvVar.int(name) if os.environ.get(name) else default


def hub_home() -> Path:
    return Path(os.environ.get("HUB_HOME", ".hub")).absolute()


class StorageResource(dg.ConfigurableResource):
    """Where the lake, the landing area and the ground truth live, and how to reach S3."""

    lake_root: str | None = None
    landing_root: str | None = None
    truth_root: str | None = None
    s3_endpoint_url: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_region: str = "us-east-1"
    s3_locking_provider: str | None = None
    s3_lock_table: str | None = None
    _raw: RawZone | None = PrivateAttr(default=None)

    def location(self, root: str) -> Location:
        """Any folder or s3:// root, reached with this resource's S3 settings."""
        s3 = S3Settings(
            endpoint_url=self.s3_endpoint_url,
            access_key_id=self.aws_access_key_id,
            secret_access_key=self.aws_secret_access_key,
            region=self.aws_region,
            allow_http=bool(self.s3_endpoint_url and self.s3_endpoint_url.startswith("http://")),
            locking_provider=self.s3_locking_provider,
            lock_table=self.s3_lock_table,
        )
        return Location(root, s3)

    def lake(self) -> Lake:
        return Lake(self.location(self.lake_root or str(hub_home() / "lake")))

    def landing(self) -> Landing:
        return Landing(self.location(self.landing_root or str(hub_home() / "landing")))

    def truth(self) -> Location:
        return self.location(self.truth_root or str(hub_home() / "truth"))

    def raw(self) -> RawZone:
        """The raw zone, one per initialized resource (a run, a sensor tick): its manifest is read once."""
        if self._raw is None:
            self._raw = RawZone(self.lake(), self.landing())
        return self._raw


class SparkResource(dg.ConfigurableResource):
    """The process-wide Spark session: local by default, a cluster or Spark Connect by configuration."""

    master: str = "local[2]"
    shuffle_partitions: int = 4
    driver_memory: str = "4g"
    driver_host: str | None = None
    bind_address: str | None = None
    driver_port: int | None = None
    block_manager_port: int | None = None
    python: str | None = None
    checkpoint_dir: str | None = None

    def settings(self) -> SparkSettings:
        return SparkSettings(
            master=self.master, shuffle_partitions=self.shuffle_partitions, driver_memory=self.driver_memory,
            scratch_dir=str(hub_home() / "spark"), checkpoint_dir=self.checkpoint_dir, driver_host=self.driver_host,
            bind_address=self.bind_address, driver_port=self.driver_port, block_manager_port=self.block_manager_port,
            python=self.python or sys.executable,
        )

    def session(self):
        return spark_session(self.settings())

    @property
    def distributed(self) -> bool:
        """Whether work that can spread over executors should go to Spark (a cluster or Spark Connect)
        rather than to this machine's cores."""
        return not self.master.startswith("local")


class NotificationResource(ResourceWithBoto3Configuration):
    """The hub's notification channel: alerts to an SNS topic when one is configured, else to a local
    outbox (one JSON line per message in ``$HUB_HOME/outbox/<kind>.jsonl``) a person or a test can read.

    Built on dagster-aws's boto3 configuration (region, endpoint, credentials, retries); the message
    is the same either way: kind, id (what makes it unique), recipients, subject, body, data.
    """

    sns_topic_arn: str | None = None
    outbox_dir: str | None = None

    def outbox(self) -> Path:
        return Path(self.outbox_dir or hub_home() / "outbox")

    def send(self, kind: str, messages: list[dict]) -> int:
        """Deliver ``messages`` (dicts with id, recipients, subject, body, data); returns how many."""
        sent_at = datetime.now(UTC).isoformat()
        envelopes = [{"kind": kind, "sent_at": sent_at, **message} for message in messages]
        if not envelopes:
            return 0
        if self.sns_topic_arn:
            client = self._sns()
            for envelope in envelopes:
                client.publish(
                    TopicArn=self.sns_topic_arn,
                    Subject=envelope["subject"][:100],  # SNS caps subjects at 100 characters
                    Message=json.dumps(envelope, default=str),
                    MessageAttributes={"kind": {"DataType": "String", "StringValue": kind}},
                )
            return len(envelopes)
        folder = self.outbox()
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / f"{kind}.jsonl").open("a", encoding="utf-8") as outbox:
            outbox.writelines(json.dumps(envelope, default=str) + "\n" for envelope in envelopes)
        return len(envelopes)

    def _sns(self):
        import boto3

        session = boto3.session.Session(
            profile_name=self.profile_name,
            aws_access_key_id=self.aws_access_key_id,
            aws_secret_access_key=self.aws_secret_access_key,
            aws_session_token=self.aws_session_token,
        )
        return session.client(
            "sns", region_name=self.region_name, endpoint_url=self.endpoint_url, use_ssl=self.use_ssl,
            verify=self.verify, config=construct_boto_client_retry_config(self.max_attempts),
        )


def build_resources() -> dict[str, dg.ConfigurableResource]:
    """The resources of every run, their fields bound to the environment (see ``SETTINGS``)."""
    return {
        "storage": StorageResource(
            lake_root=_setting("HUB_LAKE_ROOT"),
            landing_root=_setting("HUB_LANDING_ROOT"),
            truth_root=_setting("HUB_TRUTH_ROOT"),
            s3_endpoint_url=_setting("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
            aws_access_key_id=_setting("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=_setting("AWS_SECRET_ACCESS_KEY"),
            aws_region=_setting("AWS_REGION", default="us-east-1"),
            s3_locking_provider=_setting("AWS_S3_LOCKING_PROVIDER"),
            s3_lock_table=_setting("DELTA_DYNAMO_TABLE_NAME"),
        ),
        "spark": SparkResource(
            master=_setting("HUB_SPARK_MASTER", default="local[2]"),
            shuffle_partitions=_int_setting("HUB_SPARK_SHUFFLE_PARTITIONS", 4),
            driver_memory=_setting("HUB_SPARK_DRIVER_MEMORY", default="4g"),
            driver_host=_setting("HUB_SPARK_DRIVER_HOST"),
            bind_address=_setting("HUB_SPARK_BIND_ADDRESS"),
            driver_port=_int_setting("HUB_SPARK_DRIVER_PORT", None),
            block_manager_port=_int_setting("HUB_SPARK_BLOCK_MANAGER_PORT", None),
            python=_setting("HUB_SPARK_PYTHON"),
            checkpoint_dir=_setting("HUB_SPARK_CHECKPOINT_DIR"),
        ),
        "notifications": NotificationResource(
            sns_topic_arn=_setting("HUB_SNS_TOPIC_ARN"),
            region_name=_setting("AWS_REGION", default="us-east-1"),
            endpoint_url=_setting("AWS_ENDPOINT_URL_SNS", "AWS_ENDPOINT_URL"),
            aws_access_key_id=_setting("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=_setting("AWS_SECRET_ACCESS_KEY"),
        ),
    }


def configured() -> dict[str, dg.ConfigurableResource]:
    """The run's resources, initialized outside Dagster (the CLI, ``hub serve``): each ``dg.EnvVar``
    resolved exactly as Dagster resolves it for a run."""
    return {name: resource.process_config_and_initialize() for name, resource in build_resources().items()}
