"""MLflow's own auth app under /mlflow, as clients see it through the proxy, plus the files behind it."""

import base64
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).parents[3]))
EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
sys.path.insert(0, str(PROJECT / "molecule" / "_shared"))
from client_env import client_env  # noqa: E402


@pytest.fixture(scope="module")
def v(host):
    return host.ansible.get_variables()


@pytest.fixture(scope="module")
def ca():
    path = EPHEMERAL / "mlflow-ca" / "ca.crt"
    assert path.is_file(), "the CA certificate is on the controller"
    return str(path)


@pytest.fixture(scope="module")
def bundle(ca):
    """The client bundle the README names (roles/common/tasks/ca.yml)."""
    path = Path(ca).with_name("client-bundle.pem")
    assert path.is_file(), "the playbook wrote the client bundle next to the CA"
    return str(path)


@pytest.fixture(scope="module")
def url(v):
    return f"https://localhost:{v['mlflow_https_port']}{v['mlflow_url_path']}"


@pytest.fixture(scope="module")
def client_python():
    subprocess.run([str(PROJECT / "scripts/e2e-client-venv.sh")], check=True)
    return str(PROJECT / ".cache/e2e-venv/bin/python")


def _user(v, name):
    return next(u for u in v["mlflow_auth_users"] if u["name"] == name)


def _run(client_python, script, env, *args):
    result = subprocess.run([client_python, str(PROJECT / "tests/e2e" / script), *args], env=env,
                            capture_output=True, text=True, timeout=1800, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads([line for line in result.stdout.splitlines() if line.startswith("{")][-1])


@pytest.fixture(scope="module")
def observed(client_python, bundle, url, v):
    alice, bob = _user(v, "alice"), _user(v, "bob")
    env = client_env(url, bundle, E2E_ADMIN=f"admin:{v['mlflow_auth_admin_password']}", E2E_READER=f"alice:{alice['password']}",
                     E2E_EDITOR=f"bob:{bob['password']}", E2E_EXPERIMENT="shared-results",
                     # An alias, not localhost: MLflow allows localhost origins whatever it is told.
                     E2E_PUBLIC_ORIGIN=f"https://{v['nginx_server_aliases'][0]}:{v['mlflow_https_port']}",
                     E2E_ALIAS_HOST=v["nginx_server_aliases"][0])
    return _run(client_python, "mlflow_auth_e2e.py", env)


def _line(observed):
    return tuple(int(part) for part in observed["version"].split(".")[:2])


def test_served_version_is_the_scenario_version(observed):
    assert observed["version"] == os.environ.get("MOLECULE_MLFLOW_VERSION", "3.17.2")


@pytest.mark.parametrize("check, expected", [
    ("health_without_credentials", 200),
    ("api_without_credentials", 401),
    ("ui_page_as_admin", 200),
    ("admin_creates_experiment", 200),
    ("reader_reads_shared", 200),
    ("reader_logs_to_shared", 403),
    ("editor_logs_to_shared", 200),
    ("editor_reads_private", 403),
    ("reader_reads_run", 200),
    ("unknown_user", 401),
    ("wrong_password", 401),
    ("ui_create_with_public_origin", 200),
    ("alias_host", 200),
])
def test_permissions_as_granted(observed, check, expected):
    assert observed["status"][check] == expected, observed


def test_challenge_and_data_come_from_mlflow(observed):
    assert observed["details"]["api_without_credentials_challenge"].startswith("Basic")
    assert observed["details"]["ui_page_is_html"] is True
    assert observed["details"]["reader_sees_metric"] == 0.25
    assert observed["details"]["reader_reads_artifact"] == "proxied through the prefix"


def test_security_middleware_blocks_foreign_origin_and_host(observed):
    if _line(observed) < (3, 5):
        pytest.skip("MLflow %s has no security middleware (3.5+)" % observed["version"])
    assert observed["status"]["ui_create_with_foreign_origin"] == 403, observed["details"]["foreign_origin_answer"]
    assert "Cross-origin" in observed["details"]["foreign_origin_answer"]
    assert observed["status"]["foreign_host"] == 403, observed["details"]["foreign_host_answer"]
    assert "Invalid Host" in observed["details"]["foreign_host_answer"]


def test_official_client_checks_as_admin(client_python, bundle, url, v, observed):
    # The 3.x client's model logging needs a 3.x server; MLflow 2.22 gets the smoke run.
    mode = "full" if _line(observed) >= (3, 0) else "smoke"
    env = client_env(url, bundle, MLFLOW_TRACKING_USERNAME="admin", MLFLOW_TRACKING_PASSWORD=v["mlflow_auth_admin_password"],
                     MLFLOW_E2E_REQUIRE_MULTIPART="true" if mode == "full" else "false")
    assert _run(client_python, "mlflow_e2e.py", env, mode)["ok"] is True


def test_health_at_the_root_stays_open_for_load_balancers(host, v):
    answer = host.run("python3 -c \"import ssl, urllib.request as u; "
                      "print(u.urlopen('https://127.0.0.1:%s/health', context=ssl._create_unverified_context()).read().decode())\""
                      % v["mlflow_https_port"])
    assert answer.stdout.strip() == "OK", answer.stderr


def test_secret_key_and_admin_hash_survive_a_second_converge(host):
    first = host.file("/root/auth-first-converge.txt")
    assert first.mode == 0o600
    key_line, admin_hash = first.content_string.splitlines()
    assert len(key_line.split("=", 1)[1].strip('"')) == 64
    assert host.file("/etc/mlflow/mlflow.env").contains("^" + key_line + "$")
    now = host.run("runuser -u postgres -- psql -d mlflow_auth -Atc \"SELECT password_hash FROM users WHERE username = 'admin'\"")
    assert now.stdout.strip() == admin_hash


def test_secret_key_comes_from_the_controller_file(host):
    stored = EPHEMERAL / "mlflow-secrets" / "flask-secret-key"
    assert stored.stat().st_mode & 0o777 == 0o600
    assert host.file("/etc/mlflow/mlflow.env").contains('^MLFLOW_FLASK_SERVER_SECRET_KEY="%s"$' % stored.read_text().strip())


def test_auth_files_are_not_world_readable(host):
    for path in ("/etc/mlflow/basic_auth.ini", "/etc/mlflow/mlflow.env"):
        settings = host.file(path)
        assert settings.mode == 0o640 and settings.user == "root" and settings.group == "mlflow", path
    assert "molecule-admin-password" not in host.run("ps -eo args").stdout


def test_proxy_does_not_authenticate(host):
    config = host.file("/etc/nginx/conf.d/mlflow.conf").content_string
    assert "auth_basic $mlflow_auth_realm" not in config
    assert "location /mlflow/ {" in config


def _admin_call(ca, url, v, method, path, body=None, content_type="application/json"):
    token = base64.b64encode(f"admin:{v['mlflow_auth_admin_password']}".encode()).decode()
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    request = urllib.request.Request(url + path, data=data, method=method,
                                     headers={"Authorization": "Basic " + token, "Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=ca), timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _bucket(ca, v):
    import boto3

    return boto3.client("s3", endpoint_url=f"https://localhost:{v['mlflow_s3_https_port']}", verify=ca, region_name="us-east-1",
                        aws_access_key_id="mlflow", aws_secret_access_key=v["mlflow_s3_secret_key"])


def test_gc_purges_through_the_auth_app(host, ca, url, v):
    """mlflow-gc.service deletes artifacts through the server, so it must log in as the admin."""
    status, body = _admin_call(ca, url, v, "POST", "/api/2.0/mlflow/experiments/create", {"name": f"gc-{time.time_ns()}"})
    assert status == 200, body
    experiment_id = json.loads(body)["experiment_id"]
    status, body = _admin_call(ca, url, v, "POST", "/api/2.0/mlflow/runs/create",
                               {"experiment_id": experiment_id, "start_time": int(time.time() * 1000)})
    run_id = json.loads(body)["run"]["info"]["run_id"]
    upload = f"/api/2.0/mlflow-artifacts/artifacts/{experiment_id}/{run_id}/artifacts/model.bin"
    assert _admin_call(ca, url, v, "PUT", upload, os.urandom(1024), "application/octet-stream")[0] == 200
    assert _bucket(ca, v).list_objects_v2(Bucket="mlflow", Prefix=f"artifacts/{experiment_id}/{run_id}/")["KeyCount"] == 1
    assert _admin_call(ca, url, v, "POST", "/api/2.0/mlflow/runs/delete", {"run_id": run_id})[0] == 200
    time.sleep(2)  # mlflow_gc_older_than is 1s in this scenario
    gc = host.run("systemctl start mlflow-gc.service")
    assert gc.rc == 0, host.run("journalctl -u mlflow-gc.service -n 30 --no-pager").stdout
    status, body = _admin_call(ca, url, v, "GET", f"/api/2.0/mlflow/runs/get?run_id={run_id}")
    assert status == 404 and "RESOURCE_DOES_NOT_EXIST" in body
    prefix = f"artifacts/{experiment_id}/{run_id}/"
    assert _bucket(ca, v).list_objects_v2(Bucket="mlflow", Prefix=prefix)["KeyCount"] == 0, "the artifact went with the run"
