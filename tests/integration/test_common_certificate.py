# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The common role's certificate flow, run with ansible-playbook on the controller (connection local).

Covers check mode on a fresh machine, issuing, idempotence, the handler named by the caller, renewal of
a certificate close to expiry or with other names, a self-signed certificate, and renewal of the CA.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

PLAYBOOK = Path(__file__).parent / "files" / "certificate-flow.yml"
PLAYBOOK_BIN = shutil.which("ansible-playbook")

pytestmark = pytest.mark.skipif(PLAYBOOK_BIN is None, reason="ansible-playbook is not installed")


def _run(work, *extra, check=False):
    variables = {"work": str(work)}
    command = [PLAYBOOK_BIN, str(PLAYBOOK), "-e", json.dumps(variables)]
    for item in extra:
        command += ["-e", json.dumps(item)]
    if check:
        command.append("--check")
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    recap = re.search(r"localhost\s*:\s*ok=\d+\s+changed=(\d+)", result.stdout)
    return int(recap.group(1)), result.stdout


def _cert(path):
    text = subprocess.check_output(["openssl", "x509", "-in", str(path), "-noout", "-serial", "-subject", "-ext", "subjectAltName",
                                    "-enddate", "-issuer"], text=True)
    return text


def _serial(path):
    return subprocess.check_output(["openssl", "x509", "-in", str(path), "-noout", "-serial"], text=True).strip()


def _verifies(ca, cert):
    return subprocess.run(["openssl", "verify", "-CAfile", str(ca), str(cert)], capture_output=True, check=False).returncode == 0


def test_certificate_flow(tmp_path):
    work = tmp_path / "w"
    changed, _out = _run(work, check=True)
    assert changed > 0, "check mode on a fresh machine reports what a real run would change"
    assert not (work / "tls" / "server.crt").exists() and not (work / "ca" / "ca.key").exists()

    changed, _out = _run(work)
    assert changed > 0
    crt, ca = work / "tls" / "server.crt", work / "ca" / "ca.crt"
    assert _verifies(ca, crt)
    assert "DNS:server.example, IP Address:127.0.0.1" in _cert(crt)
    assert (work / "tls" / "fullchain.crt").read_text() == crt.read_text() + ca.read_text()
    assert (work / "tls" / "ca.crt").read_text() == ca.read_text()
    assert oct((work / "tls" / "server.key").stat().st_mode & 0o777) == "0o600"
    assert oct((work / "ca" / "ca.key").stat().st_mode & 0o777) == "0o600"
    # The clients' REQUESTS_CA_BUNDLE: this machine's roots, then the CA.
    bundle = (work / "ca" / "client-bundle.pem").read_text()
    assert bundle == Path("/etc/ssl/certs/ca-certificates.crt").read_text().rstrip("\n") + "\n" + ca.read_text().rstrip("\n") + "\n"
    notified = (work / "notified").read_text()

    assert _run(work)[0] == 0, "a second run changes nothing"
    assert _run(work, check=True)[0] == 0, "check mode agrees"
    assert (work / "notified").read_text() == notified, "no change, no handler"
    serial = _serial(crt)

    # 397 days of validity expire within a 400-day renewal window: signed again, handler notified.
    changed, _out = _run(work, {"renew": 400}, check=True)
    assert changed > 0 and _serial(crt) == serial, "check mode reports the renewal and writes nothing"
    changed, _out = _run(work, {"renew": 400})
    assert changed > 0 and _serial(crt) != serial
    assert (work / "notified").read_text() != notified
    serial = _serial(crt)
    assert _run(work)[0] == 0, "a fresh certificate is left alone"
    assert _serial(crt) == serial

    # Other names: signed again.
    _run(work, {"sans": ["DNS:server.example", "DNS:other.example"]})
    assert _serial(crt) != serial and "DNS:other.example" in _cert(crt)
    serial = _serial(crt)
    _run(work, {"sans": ["DNS:server.example", "DNS:other.example"], "cn": "other.example"})
    assert _serial(crt) != serial and "CN = other.example" in _cert(crt)


def test_self_signed_certificate(tmp_path):
    work = tmp_path / "w"
    _run(work, {"use_ca": False})
    crt = work / "tls" / "server.crt"
    assert _verifies(crt, crt)
    assert not (work / "ca").exists() and not (work / "tls" / "ca.crt").exists()
    assert _run(work, {"use_ca": False})[0] == 0


def test_ca_is_renewed_with_its_key_and_keeps_signed_certificates_valid(tmp_path):
    work = tmp_path / "w"
    _run(work)
    ca, crt = work / "ca" / "ca.crt", work / "tls" / "server.crt"
    key = (work / "ca" / "ca.key").read_text()
    serial = _serial(ca)
    assert _run(work, {"ca_renew": 90})[0] == 0, "a CA valid for ten years is left alone"
    assert _run(work, {"ca_renew": 4000})[0] > 0, "a CA that expires within the window is renewed"
    assert _serial(ca) != serial and (work / "ca" / "ca.key").read_text() == key
    assert _verifies(ca, crt), "certificates signed before the renewal verify with the renewed CA"
