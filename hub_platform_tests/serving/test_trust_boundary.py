"""The trust boundary: the key and the role live in the query service; an analyst's process has neither."""

import os
import subprocess
import sys
import time
import urllib.request

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from hub_platform.lib.governance import AccessDenied, apply_role, hash_key, keyed_hash, publish_masked
from hub_platform.lib.lake.store import Lake, Location
from hub_platform.serving.api import create_app
from hub_platform.serving.governed_api import Principal, load_tokens, new_token, token_digest
from hub_platform.serving.query import QuerySession
from hub_platform_tests.conftest import free_port

SERVICE_KEY = "service-only-secret-for-tests"
PEOPLE = pa.table({
    "customer_id": ["CUS-1", "CUS-2"],
    "email": ["ann@example.com", "bob@example.com"],
    "first_name": ["Ann", "Bob"],
    "marketing_consent": [True, False],
    "country": ["GB", "GB"],
})
CLEAR = {"ann@example.com", "bob@example.com", "Ann", "Bob"}


@pytest.fixture
def lake(tmp_path, monkeypatch):
    """A lake as a run with the key leaves it (the clear table and its masked copy); then the key is gone."""
    lake = Lake(Location(str(tmp_path / "hub" / "lake")))
    monkeypatch.setenv("HUB_PII_HASH_KEY", SERVICE_KEY)
    lake.write(PEOPLE, "customer360", "golden_record")
    publish_masked(lake, "customer360", "golden_record", PEOPLE, ["customer_id"], changed=True)
    lake.write(pa.table({"email": ["ann@example.com"]}), "customer360", "unpublished")
    monkeypatch.delenv("HUB_PII_HASH_KEY")
    return lake


def _values(table: pa.Table) -> set:
    return {v for row in table.to_pylist() for v in row.values()}


def test_an_analyst_process_without_the_key_reads_masked_copies_only(lake):
    with pytest.raises(AccessDenied, match="HUB_PII_HASH_KEY"):
        hash_key()  # this process has no key to hash a guess with
    seen = QuerySession(lake, role="analyst").sql("SELECT * FROM customer360.golden_record")
    assert not CLEAR & _values(seen) and seen.num_rows == 2
    # the hashes are the service's: a guess hashed with any key the analyst could pick does not match
    guess = keyed_hash(pa.array(["ann@example.com"]), b"a guessed key")[0].as_py()
    assert guess not in _values(seen)
    assert keyed_hash(pa.array(["ann@example.com"]), SERVICE_KEY.encode())[0].as_py() in _values(seen)
    with pytest.raises(AccessDenied, match="no masked copy"):  # a PII table never published is refused, not read clear
        QuerySession(lake, role="analyst").sql("SELECT * FROM customer360.unpublished")
    with pytest.raises(AccessDenied, match="HUB_PII_HASH_KEY"):  # marketing's view needs the key: the service's
        QuerySession(lake, role="marketing").sql("SELECT * FROM customer360.golden_record")
    with pytest.raises(AccessDenied):
        apply_role(PEOPLE, "analyst")


def test_hub_customer_by_email_is_a_stewards_question(lake, tmp_path, monkeypatch, capsys):
    from hub_platform.serving.cli import main

    monkeypatch.setenv("HUB_HOME", str(tmp_path / "hub"))
    assert main(["customer", "ann@example.com", "--role", "analyst"]) == 2
    assert "only a steward looks customers up by e-mail" in capsys.readouterr().err


@pytest.fixture
def tokens():
    issued = {role: new_token(role, f"{role}-holder") for role in ("analyst", "marketing", "partner")}
    return {role: token for role, (token, _) in issued.items()}, {token_digest(t): Principal(f"{r}-holder", r) for r, (t, _) in issued.items()}


def test_the_service_takes_the_role_from_the_token(lake, tokens, monkeypatch):
    monkeypatch.setenv("HUB_PII_HASH_KEY", SERVICE_KEY)  # the service's process holds the key
    plain, known = tokens
    client = TestClient(create_app(lake, known))
    query = {"query": "SELECT customer_id, email FROM customer360.golden_record ORDER BY 1"}
    assert client.post("/sql", json=query).status_code == 401
    assert client.post("/sql", json=query, headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    as_role = lambda role: {"Authorization": f"Bearer {plain[role]}"}  # noqa: E731
    analyst = client.post("/sql", json=query, headers=as_role("analyst")).json()
    assert analyst["columns"] == ["customer_id", "email"] and not CLEAR & {v for row in analyst["rows"] for v in row}
    marketing = client.post("/sql", json=query, headers=as_role("marketing")).json()
    assert marketing["rows"] == [["CUS-1", "ann@example.com"], ["CUS-2", None]]  # consent decides
    assert client.post("/sql", json=query, headers=as_role("partner")).status_code == 403  # partners get aggregates only
    clean = {"query": "SELECT * FROM clean.anything"}
    assert client.post("/sql", json=clean, headers=as_role("analyst")).status_code == 403


def test_tokens_file_holds_digests_and_refuses_malformed_lines(tmp_path):
    token, line = new_token("analyst", "alice")
    (tmp_path / "tokens").write_text(f"# who may query\n{line}\n")
    assert token not in line and load_tokens(tmp_path / "tokens") == {token_digest(token): Principal("alice", "analyst")}
    (tmp_path / "bad").write_text("abc superuser bob\n")
    with pytest.raises(ValueError, match="line 1"):
        load_tokens(tmp_path / "bad")


def test_hub_sql_as_analyst_goes_through_a_service_in_another_process(lake, tmp_path, monkeypatch, capsys):
    """The service runs in its own process with the key; the CLI process has only a token."""
    from hub_platform.serving.cli import main

    token, line = new_token("analyst", "alice")
    (tmp_path / "tokens").write_text(line + "\n")
    port = free_port()
    env = {**os.environ, "HUB_HOME": str(tmp_path / "hub"), "HUB_PII_HASH_KEY": SERVICE_KEY, "HUB_API_TOKENS": str(tmp_path / "tokens")}
    env.pop("HUB_LAKE_ROOT", None)
    service = subprocess.Popen([sys.executable, "-m", "hub_platform.serving.cli", "serve", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        monkeypatch.setenv("HUB_QUERY_URL", url)
        monkeypatch.setenv("HUB_API_TOKEN", token)
        monkeypatch.setenv("HUB_HOME", str(tmp_path / "elsewhere"))  # nothing local is read
        assert main(["sql", "SELECT email FROM customer360.golden_record", "--csv"]) == 0
        printed = capsys.readouterr().out
        assert printed.startswith("email\n") and not CLEAR & set(printed.split())
        assert main(["sql", "SELECT * FROM clean.x"]) == 2
        assert "may not read clean/" in capsys.readouterr().err
        monkeypatch.setenv("HUB_API_TOKEN", "stolen-guess")
        assert main(["sql", "SELECT 1"]) == 2
        assert "bearer token" in capsys.readouterr().err
    finally:
        service.terminate()
        service.wait(timeout=10)
