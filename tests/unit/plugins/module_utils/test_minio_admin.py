# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The parts of plugins/module_utils/minio_admin.py that need no server (the rest: tests/integration/test_minio_admin.py)."""

from __future__ import annotations

import base64
import datetime
import http.server
import json
import ssl
import threading
import time

import pytest

from ansible_collections.mlops.mlflow.plugins.module_utils import minio_admin
from ansible_collections.mlops.mlflow.plugins.module_utils.minio_admin import MinioAdminError

SECRET = "root-secret-0123456789"


def _claims(token):
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_prometheus_token_is_an_hs512_jwt_for_the_root_user():
    token = minio_admin.prometheus_token("admin", SECRET, 2000000000)
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": "HS512", "typ": "JWT"}
    assert _claims(token) == {"exp": 2000000000, "iss": "prometheus", "sub": "admin"}
    assert "=" not in token


def test_a_token_is_current_only_for_the_same_credentials_and_time():
    now = time.time()
    token = minio_admin.prometheus_token("admin", SECRET, now + 365 * 24 * 3600)
    assert minio_admin.token_is_current(token + "\n", "admin", SECRET, now)
    assert not minio_admin.token_is_current(token, "admin", SECRET + "x", now)
    assert not minio_admin.token_is_current(token, "root", SECRET, now)
    assert not minio_admin.token_is_current(token, "admin", SECRET, now + 360 * 24 * 3600), "close to its expiry"
    assert not minio_admin.token_is_current("", "admin", SECRET, now)
    assert not minio_admin.token_is_current("a.b.c", "admin", SECRET, now)
    forged = token.rsplit(".", 1)[0] + "." + minio_admin.prometheus_token("admin", "other", now + 1e8).rsplit(".", 1)[1]
    assert not minio_admin.token_is_current(forged, "admin", SECRET, now)


def test_policies_compare_by_meaning():
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": ["arn:aws:s3:::b/*"]},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b"}]}
    reordered = {"Statement": [
        {"Resource": ["arn:aws:s3:::b"], "Action": ["s3:ListBucket"], "Effect": "Allow"},
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": ["arn:aws:s3:::b/*"]}], "Version": "2012-10-17"}
    wider = json.loads(json.dumps(policy))
    wider["Statement"][0]["Resource"] = ["arn:aws:s3:::*"]
    assert minio_admin.normalized_policy(policy) == minio_admin.normalized_policy(reordered)
    assert minio_admin.normalized_policy(policy) != minio_admin.normalized_policy(wider)


@pytest.mark.parametrize("opts, endpoint", [
    ("--address :9000 --certs-dir {certs}", "127.0.0.1:9000"),
    ("--address 0.0.0.0:9100 --certs-dir {certs}", "127.0.0.1:9100"),
    ("--address [::]:9000 --certs-dir {certs}", "[::1]:9000"),
    ("--address=192.0.2.7:9000 --certs-dir={certs}", "192.0.2.7:9000"),
])
def test_endpoint_and_tls_come_from_the_environment_file(tmp_path, opts, endpoint):
    certs = tmp_path / "certs"
    certs.mkdir()
    env = tmp_path / "minio.env"
    env.write_text('MINIO_ROOT_USER="admin"\nMINIO_ROOT_PASSWORD="%s"\nMINIO_OPTS="%s"\n' % (SECRET, opts.format(certs=certs)))
    plain = minio_admin.Server(env)
    assert (plain.endpoint, plain.secure, plain.url("/x")) == (endpoint, False, "http://%s/x" % endpoint)
    # As MinIO itself, the helper speaks TLS once certs/public.crt exists.
    (certs / "public.crt").write_text(_SELF_SIGNED)
    assert minio_admin.Server(env, "localhost").secure is True


def test_a_missing_root_credential_stops_the_helper(tmp_path):
    env = tmp_path / "minio.env"
    env.write_text('MINIO_ROOT_USER="admin"\n')
    with pytest.raises(MinioAdminError) as stop:
        minio_admin.Server(env)
    assert "MINIO_ROOT_PASSWORD" in str(stop.value)


def _self_signed(name="localhost"):
    """A throwaway self-signed certificate and its key, as PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM).decode(), pem_key.decode()


_SELF_SIGNED = _self_signed()[0]


class _Ready(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the name http.server calls)
        self.send_response(200 if self.path == "/minio/health/ready" else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def tls_server(tmp_path):
    """An HTTPS server on 127.0.0.1 with a self-signed certificate for minio.test, and the role's certs layout."""
    certs = tmp_path / "certs"
    certs.mkdir()
    cert, key = _self_signed("minio.test")
    (certs / "public.crt").write_text(cert)
    (certs / "private.key").write_text(key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(certs / "public.crt"), str(certs / "private.key"))
    server = http.server.HTTPServer(("127.0.0.1", 0), _Ready)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    env = tmp_path / "minio.env"
    env.write_text('MINIO_ROOT_USER="admin"\nMINIO_ROOT_PASSWORD="%s"\nMINIO_OPTS="--address :%d --certs-dir %s"\n'
                   % (SECRET, server.server_address[1], certs))
    yield env
    server.shutdown()
    server.server_close()


def test_ready_verifies_the_certificate_for_the_expected_name(tls_server):
    server = minio_admin.Server(tls_server, "minio.test")
    assert server.secure is True
    assert 0 <= minio_admin.wait_ready(server, 5) < 5


def test_ready_refuses_a_certificate_for_another_name(tls_server):
    with pytest.raises(MinioAdminError) as stop:
        minio_admin.wait_ready(minio_admin.Server(tls_server, "other.test"), 2)
    assert "was not ready" in str(stop.value)
    assert "certificate" in str(stop.value).lower() or "hostname" in str(stop.value).lower()


POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/*"]}]}
IN_PLACE = {"bucket_exists": True, "policy": POLICY,
            "user": {"status": "enabled", "policies": ["p"], "secret_key": "accepted"}, "prometheus_token": "current"}


def _with(**changes):
    state = json.loads(json.dumps(IN_PLACE))
    for key, value in changes.items():
        if key.startswith("user_"):
            state["user"][key[5:]] = value
        else:
            state[key] = value
    return state


@pytest.mark.parametrize("state, changes", [
    (IN_PLACE, []),
    ({"bucket_exists": False, "policy": None, "user": None, "prometheus_token": "absent"},
     ["bucket created", "policy created", "user created", "user policy set", "prometheus token written"]),
    (_with(policy={"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}), ["policy updated"]),
    (_with(user_status="disabled"), ["user enabled"]),
    (_with(user_secret_key="rejected"), ["user secret key updated"]),
    (_with(user_policies=["p", "readwrite"]), ["user policy set"]),
    (_with(user_policies=[]), ["user policy set"]),
    (_with(prometheus_token="stale"), ["prometheus token written"]),
    (_with(prometheus_token="wrong mode"), ["prometheus token written"]),
])
def test_plan_lists_the_changes_in_order(state, changes):
    assert minio_admin.plan(state, "p", POLICY, "/etc/minio/prometheus.token") == changes


def test_without_a_token_file_no_token_is_planned():
    state = _with(prometheus_token="absent")
    assert minio_admin.plan(state, "p", POLICY, "") == []
    assert "prometheus_token" not in minio_admin.desired_view(state, "p", POLICY, "")


def test_the_diff_never_holds_a_secret():
    after = minio_admin.desired_view(IN_PLACE, "p", POLICY, "/t")
    assert after["user"] == {"status": "enabled", "policies": ["p"], "secret_key": "accepted"}
    assert set(after) == {"bucket_exists", "policy", "user", "prometheus_token"}
