"""`hub replay <feed>`: a recorded run of clean/<feed> that conforms every raw file again."""

import dagster as dg

from hub_platform.serving.cli import main

SUPPLIERS = b"supplier_id,supplier_name,country,lead_time_days,contact_email\nsup-1,Acme,Swaziland,5,a@acme.example\nsup-2,Bolt,UK,x,\n"


def test_hub_replay_rebuilds_a_feed_from_raw_as_a_recorded_run(hub_home, tmp_path, capsys):
    delivery = tmp_path / "suppliers.csv"
    delivery.write_bytes(SUPPLIERS)
    assert main(["land", "--source", "erp_suppliers", str(delivery)]) == 0
    assert main(["materialize", "--select", "raw/erp_suppliers", "--select", "clean/erp_suppliers"]) == 0
    capsys.readouterr()

    assert main(["replay", "erp_suppliers"]) == 0
    out = capsys.readouterr().out
    assert "replayed erp_suppliers: 1 file(s), 1 rows clean, 1 quarantined" in out  # sup-2's lead time is required
    runs = dg.DagsterInstance.get().get_runs(filters=dg.RunsFilter(tags={"hub/replay": "erp_suppliers"}))
    assert len(runs) == 1 and runs[0].is_success
    assert main(["replay", "no_such_feed"]) == 2
