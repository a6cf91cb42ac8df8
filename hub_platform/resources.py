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
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from hub_platform.lake.landing import Landing
from hub_platform.lake.raw import RawZone
from hub_platform.lake.store import Lake, Location, S3Settings
from hub_platform.spark import spark_session


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
    }
