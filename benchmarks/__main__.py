"""`make bench`: run every benchmark (or those named: `python -m benchmarks raw_ingest`)."""

import importlib
import sys

BENCHMARKS = ["many_sources", "raw_ingest", "clean_zone", "curated_zone", "customer360", "product_matching", "forecast",
              "forecast_public", "orders"]


def main(names: list[str]) -> None:
    for name in names or BENCHMARKS:
        print(f"\n== {name} ==", flush=True)
        importlib.import_module(f"benchmarks.{name}").run()


if __name__ == "__main__":
    main(sys.argv[1:])
