"""The ``referral-network`` command, run from the project root, finds the development secrets that
`make run` generated under var/, or says exactly which variable to set and where it looked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from network import secrets
from services.kit.config import ConfigError, development_secrets_file, substitute

CLI = [sys.executable, "-m", "services.kit.cli"]
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def project_root(tmp_path, monkeypatch):
    """A working directory laid out as `make run` leaves the project root: var/secrets.env."""
    for name in (*secrets.NAMES, "REFERRAL_NETWORK_VAR", "GATEWAY_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in secrets.NAMES and k != "GATEWAY_DATABASE_URL"}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_cli_creates_an_agency_with_the_secrets_make_run_left_in_var(project_root):
    stored = secrets.load_or_create(project_root / "var" / "secrets.env")
    done = cli(project_root, "agency", "create", "--name", "Network Administration", "--kind", "clinic",
               "--role", "admin")
    assert done.returncode == 0, done.stderr[-2000:]
    agency = json.loads(done.stdout)
    assert agency["roles"] == ["admin"] and agency["api_key"]
    assert (project_root / "var" / "gateway.db").exists()  # the same database `make run` uses
    assert stored["API_KEY_PEPPER"] not in done.stdout + done.stderr


def test_without_var_the_cli_names_the_variable_and_where_it_looked(project_root):
    done = cli(project_root, "agency", "create", "--name", "Admin", "--kind", "clinic", "--role", "admin")
    assert done.returncode != 0
    assert "API_KEY_PEPPER is required" in done.stderr
    assert str(project_root / "var" / "secrets.env") in done.stderr


def test_the_environment_and_defaults_win_over_the_development_file(project_root, monkeypatch):
    (project_root / "var").mkdir()
    (project_root / "var" / "secrets.env").write_text("# make run\nAPI_KEY_PEPPER=from-file\nPORT=9\n")
    assert substitute("${API_KEY_PEPPER}") == "from-file"
    assert substitute("${PORT:8000}") == "8000"
    monkeypatch.setenv("API_KEY_PEPPER", "from-env")
    assert substitute("${API_KEY_PEPPER}") == "from-env"


def test_an_explicit_environment_never_reads_the_development_file(project_root):
    (project_root / "var").mkdir()
    (project_root / "var" / "secrets.env").write_text("API_KEY_PEPPER=from-file\n")
    with pytest.raises(ConfigError, match="API_KEY_PEPPER is required$"):
        substitute("${API_KEY_PEPPER}", {})


def test_referral_network_var_moves_the_development_file(project_root, monkeypatch):
    elsewhere = project_root / "elsewhere"
    monkeypatch.setenv("REFERRAL_NETWORK_VAR", str(elsewhere))
    assert development_secrets_file() == elsewhere / "secrets.env"
    stored = secrets.load_or_create(elsewhere / "secrets.env")
    assert substitute("${LEDGER_HMAC_KEY}") == stored["LEDGER_HMAC_KEY"]


def test_a_secrets_file_from_before_a_secret_existed_gains_only_the_new_one(project_root):
    path = project_root / "var" / "secrets.env"
    new = "GATEWAY_FIELD_ENCRYPTION_KEYS"
    older = {name: value for name, value in secrets.fresh().items() if name != new}
    path.parent.mkdir()
    path.write_text("".join(f"{name}={value}\n" for name, value in older.items()))
    loaded = secrets.load_or_create(path)
    assert {name: loaded[name] for name in older} == older
    assert loaded[new].startswith("g1:")
    assert secrets.load_or_create(path) == loaded
