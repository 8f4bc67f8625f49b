"""``referral-network keys``: the same key operations from a shell, ledgered the same way, and
refused whole when the ledger cannot be written."""

from __future__ import annotations

import json
import time

import yaml

from services.kit.cli import main as cli_main
from tests.integration.gateway.agencies import PEPPER, insert_agency


def cli_config(tmp_path, gateway_config, **overrides) -> str:
    path = tmp_path / "gateway.yml"
    path.write_text(yaml.safe_dump({
        "AMQP_URI": gateway_config["AMQP_URI"], "DATABASE_URL": gateway_config["DATABASE_URL"],
        "API_KEY_PEPPER": PEPPER, "RPC_TIMEOUT_SECONDS": 2, **overrides}))
    return str(path)


def run(capsys, *argv: str) -> tuple[int, dict | None]:
    code = cli_main(["keys", *argv])
    out = capsys.readouterr().out
    return code, (json.loads(out) if out.strip() else None)


def run_failing(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli_main(["keys", *argv])
    printed = capsys.readouterr()
    return code, printed.out, printed.err


def test_keys_are_created_listed_and_revoked_from_the_command_line_and_ledgered(
        gateway, gateway_config, admin_key, ledger_service, tmp_path, capsys):
    clinic, _ = insert_agency(gateway_config, "Eastside Clinic", "clinic", ["referrer", "admin"])
    config = cli_config(tmp_path, gateway_config)

    code, created = run(capsys, "create", "--agency", clinic["id"], "--name", "emr-bridge",
                        "--role", "referrer", "--config", config)
    assert code == 0 and created["roles"] == ["referrer"]
    assert gateway.call("GET", "/v1/agencies", created["api_key"]).status_code == 200
    code, listed = run(capsys, "list", "--agency", clinic["id"], "--config", config)
    assert code == 0 and {k["name"] for k in listed["items"]} == {"default", "emr-bridge"}
    assert all("api_key" not in k for k in listed["items"])

    code, revoked = run(capsys, "revoke", created["id"], "--agency", clinic["id"], "--config", config)
    assert code == 0 and revoked["status"] == "revoked"
    # The gateway kept the key it read; the command's broadcast ends that within moments.
    deadline = time.monotonic() + 15
    while gateway.call("GET", "/v1/agencies", created["api_key"]).status_code != 401:
        assert time.monotonic() < deadline, "the gateway still takes a key revoked from the shell"
        time.sleep(0.1)

    rows = gateway.call("GET", f"/v1/audit/ledger?agency={clinic['id']}", admin_key).json()["items"]
    assert [r["action"] for r in rows] == ["key.created", "key.revoked"]
    assert all(r["actor"].startswith("cli:") for r in rows)


def test_nothing_changes_when_the_ledger_cannot_be_written(gateway, gateway_config, tmp_path, capsys):
    clinic, key = insert_agency(gateway_config, "Eastside Clinic", "clinic", ["referrer", "admin"])
    config = cli_config(tmp_path, gateway_config, RPC_TIMEOUT_SECONDS=1)  # no consent service here

    code, out, err = run_failing(capsys, "revoke", key.split("_")[1], "--agency", clinic["id"],
                                 "--config", config)

    assert (code, out) == (1, "") and "nothing was changed" in err
    assert gateway.call("GET", "/v1/agencies", key).status_code == 200
