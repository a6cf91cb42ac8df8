"""A snapshot of the whole asset graph, so an unintended change to it shows in review.

Each asset's deps, group, kinds, checks (and whether they block), automation condition, freshness
and code version are compared with ``asset_graph.snapshot.json``. After an intended change:
``UPDATE_SNAPSHOT=1 pytest hub_platform_tests/test_asset_graph.py`` and commit the new snapshot.
"""

import json
import os
from pathlib import Path

from hub_platform.definitions import defs

SNAPSHOT = Path(__file__).with_name("asset_graph.snapshot.json")


def graph_snapshot() -> dict[str, dict]:
    graph = defs.resolve_asset_graph()
    snapshot = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        condition = node.automation_condition
        freshness = node.freshness_policy
        snapshot[key.to_user_string()] = {
            "deps": sorted(parent.to_user_string() for parent in node.parent_keys),
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "checks": {check_key.name: "blocking" if graph.get_check_spec(check_key).blocking else "warn"
                       for check_key in sorted(graph.get_check_keys_for_assets([key]), key=lambda c: c.name)},
            "automation": (condition.get_label() or type(condition).__name__) if condition else None,
            "freshness": str(freshness) if freshness else None,
            "code_version": node.code_version,
            "owners": list(node.owners),
        }
    return snapshot


def test_the_asset_graph_matches_its_snapshot():
    current = graph_snapshot()
    if os.environ.get("UPDATE_SNAPSHOT"):
        SNAPSHOT.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    expected = json.loads(SNAPSHOT.read_text())
    added, removed = sorted(current.keys() - expected.keys()), sorted(expected.keys() - current.keys())
    changed = {key: {field: (expected[key][field], value) for field, value in current[key].items() if expected[key].get(field) != value}
               for key in current.keys() & expected.keys() if current[key] != expected[key]}
    assert not (added or removed or changed), (
        f"the asset graph changed — added {added}, removed {removed}, changed (snapshot, now) {changed}; "
        "if intended, run with UPDATE_SNAPSHOT=1 and commit hub_platform_tests/asset_graph.snapshot.json")
