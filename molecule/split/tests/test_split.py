"""The stack on three hosts (proxy, tracking node, data host): every hop between hosts is TLS, verified.

The official client runs on the proxy host (no port is published) and goes through the proxy at the
public name, split-proxy, which every host resolves to the proxy. The other checks look at each hop
from the host that makes it: PostgreSQL's pg_stat_ssl, the tracking node's MLflow port and the
store's S3 port as the proxy and the tracking node see them.
"""

import json
import os
import shlex
import sys
import subprocess
from pathlib import Path

import pytest
import testinfra

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).parents[3]))
sys.path.insert(0, str(PROJECT / "molecule" / "_shared"))
from client_env import client_command  # noqa: E402
INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
CONTROLLER_CA = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "mlflow-ca" / "ca.crt"
# The client's copy of the CA on the proxy host, as a user would fetch it.
CA = "/root/mlflow-ca.crt"
# The client bundle the README names, as a user would fetch it (roles/common/tasks/ca.yml).
BUNDLE = "/root/mlflow-client-bundle.pem"
CLIENT = "/root/mlflow-client"
MLFLOW_VERSION = "3.17.2"


def _host(name):
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=INVENTORY)


@pytest.fixture(scope="module")
def proxy():
    return _host("split-proxy")


@pytest.fixture(scope="module")
def tracking():
    return _host("split-tracking")


@pytest.fixture(scope="module")
def data():
    return _host("split-data")


def _address(host):
    return host.ansible("setup", "gather_subset=!all,network", check=False)["ansible_facts"]["ansible_default_ipv4"]["address"]


@pytest.fixture(scope="module")
def tracking_address(tracking):
    return _address(tracking)


@pytest.fixture(scope="module")
def data_address(data):
    return _address(data)


def _python(host, code):
    return host.run(f"python3 -c {shlex.quote(code)}")


def _tls_handshake(host, address, port, server_name, ca=CA):
    """Connect with the CA and the name to check; print the protocol on success."""
    code = ("import socket, ssl; "
            f"c = ssl.create_default_context(cafile={ca!r}); "
            f"s = c.wrap_socket(socket.create_connection(({address!r}, {port}), timeout=15), server_hostname={server_name!r}); "
            "print(s.version())")
    return _python(host, code)


def _plain_http(host, address, port, path="/health"):
    """A plain HTTP request: the status line, or the error it ends in."""
    code = ("import socket; "
            f"s = socket.create_connection(({address!r}, {port}), timeout=15); "
            f"s.sendall(b'GET {path} HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n'); "
            "print((s.recv(200) or b'closed').split(b'\\r\\n')[0].decode(errors='replace'))")
    return _python(host, code)


# --------------------------------------------------------------------------- the official client


@pytest.fixture(scope="module")
def client(proxy):
    """The official client (mlflow-skinny) in a venv on the proxy host, from the controller wheelhouse."""
    wheels = (PROJECT / ".cache" / "wheelhouse" / f"mlflow-{MLFLOW_VERSION}-py311").resolve()
    assert wheels.is_dir(), wheels
    proxy.ansible("apt", "name=python3-venv state=present", check=False, become=True)
    proxy.run("rm -rf /root/wheels")
    subprocess.run(["docker", "cp", f"{wheels}/.", "split-proxy:/root/wheels"], check=True)
    proxy.ansible("copy", f"src={CONTROLLER_CA} dest={CA} mode=0644", check=False)
    proxy.ansible("copy", f"src={CONTROLLER_CA.with_name('client-bundle.pem')} dest={BUNDLE} mode=0644", check=False)
    proxy.ansible("copy", f"src={PROJECT / 'tests/e2e/mlflow_e2e.py'} dest=/root/mlflow_e2e.py mode=0644", check=False)
    installed = proxy.run(f"test -x {CLIENT}/bin/python || (python3 -m venv {CLIENT} && {CLIENT}/bin/pip install --quiet "
                          f"--no-index --find-links /root/wheels mlflow-skinny=={MLFLOW_VERSION} boto3)")
    assert installed.rc == 0, installed.stderr[-3000:]
    return proxy


@pytest.fixture(scope="module")
def smoke(client):
    result = client.run(client_command(f"{CLIENT}/bin/python /root/mlflow_e2e.py smoke", "https://split-proxy", BUNDLE,
                                       MLFLOW_TRACKING_USERNAME="alice", MLFLOW_TRACKING_PASSWORD="molecule-alice-password",
                                       GIT_PYTHON_REFRESH="quiet"))
    assert result.rc == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads([line for line in result.stdout.splitlines() if line.startswith("{")][-1])


def test_the_official_client_logs_and_reads_back_a_run_with_an_artifact(smoke):
    """Through the proxy: tracking node over TLS, then the store (via the proxy's S3 port) over TLS."""
    assert smoke["ok"] is True, smoke
    assert smoke["run_id"]
    if "presigned_endpoint" in smoke:
        assert smoke["presigned_endpoint"].startswith("https://split-proxy:9443")


def test_a_presigned_download_through_the_proxy_reaches_the_store_over_tls(client, smoke):
    """What a client does with a presigned URL: the proxy's S3 port, then the store over verified TLS."""
    key = f"artifacts/{smoke['experiment_id']}/{smoke['run_id']}/artifacts/hello.txt"
    code = ("import boto3, ssl, urllib.request; "
            "s3 = boto3.client('s3', endpoint_url='https://split-proxy:9443', aws_access_key_id='mlflow', "
            f"aws_secret_access_key='molecule-mlflow-secret', region_name='us-east-1', verify={CA!r}); "
            f"url = s3.generate_presigned_url('get_object', Params={{'Bucket': 'mlflow', 'Key': {key!r}}}, ExpiresIn=300); "
            f"r = urllib.request.urlopen(url, context=ssl.create_default_context(cafile={CA!r}), timeout=30); "
            "print(r.status, r.read().decode().strip())")
    result = client.run(f"{CLIENT}/bin/python -c {shlex.quote(code)}")
    assert result.rc == 0, result.stderr[-3000:]
    assert result.stdout.startswith("200 hello from "), result.stdout


# --------------------------------------------------------------------------- tracking node to PostgreSQL


def test_the_tracking_node_connects_to_postgresql_over_tls(smoke, data, tracking_address):
    query = ("SELECT a.client_addr, s.ssl, s.version FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
             "WHERE a.usename = 'mlflow'")
    out = data.check_output(f"sudo -u postgres psql -AtF, -c {shlex.quote(query)}")
    rows = [line.split(",") for line in out.splitlines() if line]
    assert rows, "MLflow's pool keeps connections open after the client's run"
    assert {row[0] for row in rows} == {tracking_address}
    assert all(row[1] == "t" and row[2] in ("TLSv1.2", "TLSv1.3") for row in rows), rows


def test_the_tracking_node_verifies_the_database_certificate(tracking, data_address):
    """The URI's settings: verify-full against the CA installed on the node, for the address it uses."""
    env = tracking.check_output("grep -h '^_MLFLOW_SERVER_FILE_STORE=' /etc/mlflow/mlflow.env")
    assert env.endswith(f'@{data_address}:5432/mlflow?sslmode=verify-full&sslrootcert=/etc/mlflow/db-ca.crt"'), "URI settings"
    check = tracking.run(
        "PGPASSWORD=molecule-db-password psql -At -c 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()' "
        f"'host={data_address} user=mlflow dbname=mlflow sslmode=verify-full sslrootcert=/etc/mlflow/db-ca.crt'")
    assert check.rc == 0 and check.stdout.strip() == "t", check.stderr


def test_postgresql_refuses_the_tracking_node_without_tls(tracking, data_address):
    plain = tracking.run(f"PGPASSWORD=molecule-db-password psql -At -c 'SELECT 1' 'host={data_address} user=mlflow dbname=mlflow sslmode=disable'")
    assert plain.rc != 0
    assert "no encryption" in plain.stderr


def test_gc_reaches_the_database_and_the_local_server_over_tls(tracking):
    """The gc unit: the database URI with its CA, and the local server at https://127.0.0.1 with the collection CA."""
    result = tracking.run("systemctl start mlflow-gc.service")
    assert result.rc == 0, tracking.run("journalctl -u mlflow-gc.service -n 40 --no-pager").stdout


# --------------------------------------------------------------------------- proxy to the tracking node


def test_mlflow_serves_tls_only(proxy, tracking_address):
    """Plain HTTP to the tracking node's port gets no HTTP answer: the port speaks TLS only."""
    answer = _plain_http(proxy, tracking_address, 5000)
    assert not answer.stdout.startswith("HTTP/"), answer.stdout


def test_the_proxy_verifies_the_tracking_node_certificate(proxy, tracking_address):
    nginx_ca = "/etc/nginx/tls/mlflow-upstream-ca.crt"
    ok = proxy.run(f"openssl s_client -connect {tracking_address}:5000 -CAfile {nginx_ca} -verify_return_error "
                   "-verify_hostname mlflow-tracking -brief </dev/null")
    assert ok.rc == 0 and "Verification: OK" in ok.stderr + ok.stdout, ok.stderr
    wrong_name = _tls_handshake(proxy, tracking_address, 5000, "split-proxy", ca=nginx_ca)
    assert wrong_name.rc != 0 and "CERTIFICATE_VERIFY_FAILED" in wrong_name.stderr


def test_nginx_proxies_to_mlflow_over_verified_tls(proxy):
    site = proxy.file("/etc/nginx/conf.d/mlflow.conf").content_string
    assert "proxy_pass https://mlflow;" in site and "proxy_pass http://mlflow;" not in site
    assert "proxy_ssl_verify on;" in site and "proxy_ssl_name mlflow-tracking;" in site
    # /health through the proxy, which reaches MLflow only over TLS.
    health = proxy.run(f"python3 -c {shlex.quote(_urlopen('https://split-proxy/health'))}")
    assert health.rc == 0 and health.stdout.strip() == "200 OK", health.stderr


def _urlopen(url):
    return (f"import ssl, urllib.request; r = urllib.request.urlopen({url!r}, "
            f"context=ssl.create_default_context(cafile={CA!r}), timeout=30); print(r.status, r.read().decode())")


# --------------------------------------------------------------------------- to the store


@pytest.mark.parametrize("client_name", ["split-proxy", "split-tracking"])
def test_the_store_s3_port_speaks_verified_tls_to_other_hosts(client_name, data_address):
    host = _host(client_name)
    host.ansible("copy", f"src={CONTROLLER_CA} dest={CA} mode=0644", check=False)
    handshake = _tls_handshake(host, data_address, 8333, "split-data")
    assert handshake.rc == 0 and handshake.stdout.strip() in ("TLSv1.2", "TLSv1.3"), handshake.stderr
    # Go's TLS server answers a plain request with 400, never with S3.
    assert _plain_http(host, data_address, 8333, "/healthz").stdout.startswith("HTTP/1.0 400")


def test_the_tracking_node_reaches_the_store_through_the_proxy(tracking):
    env = tracking.check_output("grep -h -e '^MLFLOW_S3_ENDPOINT_URL=' -e '^AWS_CA_BUNDLE=' /etc/mlflow/mlflow.env")
    assert 'MLFLOW_S3_ENDPOINT_URL="https://split-proxy:9443"' in env
    assert 'AWS_CA_BUNDLE="/etc/mlflow/s3-ca.crt"' in env
