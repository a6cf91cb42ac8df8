"""Resources, chosen by environment: the same classes serve a laptop and an S3/cluster deployment.

Every setting comes from an environment variable when it is set (``dg.EnvVar``, so the UI shows
where a value came from and secrets never enter code or metadata), else from a local default under
``HUB_HOME`` (``.hub`` in the working directory).

| variable | meaning | default |
|---|---|---|
| HUB_HOME | folder for everything local | ./.hub |
| HUB_LAKE_ROOT | lake root: folder or s3://bucket/prefix | $HUB_HOME/lake |
| HUB_LANDING_ROOT | landing area: folder or s3://bucket/prefix | $HUB_HOME/landing |
| HUB_TRUTH_ROOT | the seed generator's ground truth (quality measurement only) | $HUB_HOME/truth |
| AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION | S3 access | AWS defaults |
| HUB_SPARK_MASTER | Spark master URL (local[N], spark://…, yarn) or Spark Connect (sc://host:15002) | local[2] |
| HUB_SNS_TOPIC_ARN | alerts go to this SNS topic instead of the local outbox | unset: $HUB_HOME/outbox |
| HUB_PII_HASH_KEY | secret key of the keyed hash that masks personal data for analysts | required to mask |
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
from dagster_aws.utils import ResourceWithBoto3Configuration, construct_boto_client_retry_config

from hub_platform.defs.raw.ingest import RawZone
from hub_platform.defs.raw.landing import Landing
from hub_platform.lib.lake.store import Lake, Location, S3Settings
from hub_platform.lib.spark import spark_session


def hub_home() -> Path:
    return Path(os.environ.get("HUB_HOME", ".hub")).absolute()


def _setting(name: str, default: str | None) -> str | dg.EnvVar | None:
    return dg.EnvVar(name) if os.environ.get(name) else default


class StorageResource(dg.ConfigurableResource):
    """Where the lake, the landing area and the ground truth live, and how to reach S3.

    A root left unset resolves under HUB_HOME when it is used, not when the code is loaded.
    """

    lake_root: str | None = None
    landing_root: str | None = None
    truth_root: str | None = None
    s3_endpoint_url: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_region: str = "us-east-1"

    def _location(self, root: str) -> Location:
        s3 = S3Settings(
            endpoint_url=self.s3_endpoint_url,
            access_key_id=self.aws_access_key_id,
            secret_access_key=self.aws_secret_access_key,
            region=self.aws_region,
            allow_http=bool(self.s3_endpoint_url and self.s3_endpoint_url.startswith("http://")),
        )
        return Location(root, s3)

    def lake(self) -> Lake:
        return Lake(self._location(self.lake_root or str(hub_home() / "lake")))

    def landing(self) -> Landing:
        return Landing(self._location(self.landing_root or str(hub_home() / "landing")))

    def truth(self) -> Location:
        return self._location(self.truth_root or str(hub_home() / "truth"))

    def raw(self) -> RawZone:
        return RawZone(self.lake(), self.landing())


class SparkResource(dg.ConfigurableResource):
    """The process-wide Spark session (local by default, a cluster through HUB_SPARK_MASTER)."""

    master: str = "local[2]"
    shuffle_partitions: int = 4

    def session(self):
        return spark_session(self.master, self.shuffle_partitions, str(hub_home() / "spark"))

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
    return {
        "storage": StorageResource(
            lake_root=_setting("HUB_LAKE_ROOT", None),
            landing_root=_setting("HUB_LANDING_ROOT", None),
            truth_root=_setting("HUB_TRUTH_ROOT", None),
            s3_endpoint_url=_setting("AWS_ENDPOINT_URL", None),
            aws_access_key_id=_setting("AWS_ACCESS_KEY_ID", None),
            aws_secret_access_key=_setting("AWS_SECRET_ACCESS_KEY", None),
            aws_region=_setting("AWS_REGION", "us-east-1"),
        ),
        "spark": SparkResource(master=_setting("HUB_SPARK_MASTER", "local[2]")),
        "notifications": NotificationResource(
            sns_topic_arn=_setting("HUB_SNS_TOPIC_ARN", None),
            region_name=_setting("AWS_REGION", "us-east-1"),
            endpoint_url=_setting("AWS_ENDPOINT_URL", None),
            aws_access_key_id=_setting("AWS_ACCESS_KEY_ID", None),
            aws_secret_access_key=_setting("AWS_SECRET_ACCESS_KEY", None),
        ),
    }
