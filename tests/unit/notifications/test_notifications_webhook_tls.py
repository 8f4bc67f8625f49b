"""A pinned HTTPS webhook connects to the checked address yet speaks TLS to the name: SNI carries
the name and the certificate must be valid for the name (a real TLS receiver on 127.0.0.1, run
with the sender in a fresh interpreter by ``webhook_tls_probe.py``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROBE = Path(__file__).with_name("webhook_tls_probe.py")
ROOT = Path(__file__).resolve().parents[3]


def probe(url_host: str) -> dict:
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        environment.pop(proxy, None)
    done = subprocess.run([sys.executable, str(PROBE), url_host], capture_output=True, text=True,
                          cwd=ROOT, env=environment, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_tls_to_the_checked_address_sends_the_name_and_verifies_the_certificate_for_it():
    result = probe("hooks.example.org")
    assert result["ok"], result["detail"]
    assert result["server_names"] == ["hooks.example.org"]


def test_a_certificate_not_for_the_name_fails_the_delivery():
    result = probe("other.example.org")
    assert not result["ok"] and result["retryable"] and "SSLError" in result["detail"]
    assert result["server_names"] == ["other.example.org"]
