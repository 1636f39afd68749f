"""The whole stack as a client sees it: only nginx's published ports, TLS with the fetched CA."""

import concurrent.futures
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import ssl
import uuid
from pathlib import Path

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).parents[3]))
sys.path.insert(0, str(PROJECT / "molecule" / "_shared"))
from client_env import client_env  # noqa: E402


@pytest.fixture(scope="module")
def v(host):
    return host.ansible.get_variables()


@pytest.fixture(scope="module")
def url(v):
    return f"https://localhost:{v['mlflow_https_port']}"


@pytest.fixture(scope="module")
def s3_url(v):
    return f"https://localhost:{v['mlflow_s3_https_port']}"


@pytest.fixture(scope="module")
def ca():
    # mlflow_tls_ca_dir in the scenario's group_vars (testinfra reads it untemplated).
    path = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "mlflow-ca" / "ca.crt"
    assert path.is_file(), "the CA certificate is on the controller"
    return str(path)


@pytest.fixture(scope="module")
def bundle(ca):
    """The client bundle the README names: the controller's system roots, then the collection CA."""
    path = Path(ca).with_name("client-bundle.pem")
    assert path.is_file(), "the playbook wrote the client bundle next to the CA"
    return str(path)


def _status(ca, url, path, headers=None, method="GET", body=None):
    request = urllib.request.Request(url + path, headers=headers or {}, method=method, data=body)
    try:
        with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=ca), timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _basic(user, password):
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture(scope="module")
def client_python():
    subprocess.run([str(PROJECT / "scripts/e2e-client-venv.sh")], check=True)
    return str(PROJECT / ".cache/e2e-venv/bin/python")


def _e2e(client_python, bundle, url, credentials, command="full"):
    env = client_env(url, bundle, MLFLOW_E2E_REQUIRE_MULTIPART="true", **credentials)
    result = subprocess.run([client_python, str(PROJECT / "tests/e2e/mlflow_e2e.py"), command],
                            env=env, capture_output=True, text=True, timeout=1800, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads([line for line in result.stdout.splitlines() if line.startswith("{")][-1])


def test_health_is_open(ca, url):
    assert _status(ca, url, "/health") == (200, "OK")


@pytest.mark.parametrize("path", ["/", "/api/2.0/mlflow/experiments/search?max_results=1", "/version"])
def test_everything_else_needs_valid_credentials(ca, url, v, path):
    token = v["nginx_auth_tokens"][0]["token"]
    user = v["nginx_auth_users"][0]
    assert _status(ca, url, path)[0] == 401
    assert _status(ca, url, path, _basic(user["name"], "wrong-password"))[0] == 401
    assert _status(ca, url, path, _basic("mallory", user["password"]))[0] == 401
    assert _status(ca, url, path, {"Authorization": "Bearer not-a-token-0123456789abcdef0123456789"})[0] == 401
    assert _status(ca, url, path, {"Authorization": f"Bearer {token}x"})[0] == 401
    assert _status(ca, url, path, _basic(user["name"], user["password"]))[0] == 200
    assert _status(ca, url, path, {"Authorization": f"Bearer {token}"})[0] == 200


def test_plain_http_and_tls_1_1_are_refused(host, ca, v):
    redirect = host.run("python3 -c \"import http.client as h; c = h.HTTPConnection('127.0.0.1', 80); "
                        "c.request('GET', '/x'); r = c.getresponse(); print(r.status, r.getheader('Location'))\"")
    assert redirect.stdout.strip() == f"301 https://localhost:{v['mlflow_https_port']}/x"

    def handshake(version):
        return subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{v['mlflow_https_port']}", "-servername", "localhost",
                               f"-{version}", "-cipher", "DEFAULT@SECLEVEL=0", "-CAfile", ca],
                              input="", capture_output=True, text=True, timeout=20, check=False)
    assert handshake("tls1_2").returncode == 0, "control: TLS 1.2 is accepted"
    old = handshake("tls1_1")
    assert old.returncode != 0
    # The client did offer TLS 1.1 (SECLEVEL=0), and the server refused it.
    assert "alert protocol version" in old.stderr
    assert "Cipher is (NONE)" in old.stdout


def test_s3_endpoint_refuses_unsigned_and_badly_signed_requests(ca, s3_url, v):
    unsigned = boto3.client("s3", endpoint_url=s3_url, verify=ca, region_name="us-east-1",
                            config=Config(signature_version=UNSIGNED))
    forged = boto3.client("s3", endpoint_url=s3_url, verify=ca, region_name="us-east-1",
                          aws_access_key_id="mlflow", aws_secret_access_key="not-the-secret")
    for s3 in (unsigned, forged):
        with pytest.raises(ClientError) as denied:
            s3.list_objects_v2(Bucket="mlflow")
        assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    signed = boto3.client("s3", endpoint_url=s3_url, verify=ca, region_name="us-east-1",
                          aws_access_key_id="mlflow", aws_secret_access_key=v["mlflow_s3_secret_key"])
    assert signed.list_objects_v2(Bucket="mlflow", MaxKeys=1)["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_the_client_bundle_holds_the_system_roots_and_the_ca(bundle, ca):
    text = Path(bundle).read_text()
    assert text.rstrip().endswith(Path(ca).read_text().strip()), "the collection CA comes last"
    assert text.count("BEGIN CERTIFICATE") > 10, "the controller's system roots come first"


def test_official_client_with_password(client_python, bundle, url, v):
    user = v["nginx_auth_users"][0]
    summary = _e2e(client_python, bundle, url, {"MLFLOW_TRACKING_USERNAME": user["name"], "MLFLOW_TRACKING_PASSWORD": user["password"]})
    assert summary["ok"] is True


def test_official_client_with_token(client_python, bundle, url, v):
    summary = _e2e(client_python, bundle, url, {"MLFLOW_TRACKING_TOKEN": v["nginx_auth_tokens"][0]["token"]})
    assert summary["ok"] is True


def test_gc_removes_a_deleted_runs_artifacts_from_the_bucket(host, ca, url, s3_url, v):
    token = {"Authorization": f"Bearer {v['nginx_auth_tokens'][0]['token']}", "Content-Type": "application/json"}
    name = f"gc-{uuid.uuid4().hex[:8]}"
    status, body = _status(ca, url, "/api/2.0/mlflow/experiments/create", token, "POST", json.dumps({"name": name}).encode())
    assert status == 200, body
    experiment_id = json.loads(body)["experiment_id"]
    status, body = _status(ca, url, "/api/2.0/mlflow/runs/create", token, "POST",
                           json.dumps({"experiment_id": experiment_id, "start_time": int(time.time() * 1000)}).encode())
    run_id = json.loads(body)["run"]["info"]["run_id"]
    upload = f"/api/2.0/mlflow-artifacts/artifacts/{experiment_id}/{run_id}/artifacts/model.bin"
    assert _status(ca, url, upload, {**token, "Content-Type": "application/octet-stream"}, "PUT", os.urandom(4096))[0] == 200

    s3 = boto3.client("s3", endpoint_url=s3_url, verify=ca, region_name="us-east-1",
                      aws_access_key_id="mlflow", aws_secret_access_key=v["mlflow_s3_secret_key"])
    key = f"artifacts/{experiment_id}/{run_id}/artifacts/model.bin"
    assert s3.head_object(Bucket="mlflow", Key=key)["ContentLength"] == 4096

    assert _status(ca, url, "/api/2.0/mlflow/runs/delete", token, "POST", json.dumps({"run_id": run_id}).encode())[0] == 200
    time.sleep(2)  # mlflow_gc_older_than is 1s in this scenario
    host.run_test("systemctl start mlflow-gc.service")
    assert s3.list_objects_v2(Bucket="mlflow", Prefix=f"artifacts/{experiment_id}/{run_id}/")["KeyCount"] == 0


def test_nginx_runs_in_the_collection_sandbox(host):
    # The distribution's unit with the collection's drop-in: the master keeps only the capabilities it needs.
    props = host.service("nginx").systemd_properties
    assert "/etc/systemd/system/nginx.service.d/sandbox.conf" in props["DropInPaths"].split()
    assert (props["ProtectSystem"], props["NoNewPrivileges"], props["PrivateTmp"]) == ("strict", "yes", "yes")
    caps = set(host.check_output("systemctl show -p CapabilityBoundingSet --value nginx").split())
    assert caps == {"cap_chown", "cap_dac_override", "cap_kill", "cap_setgid", "cap_setuid", "cap_net_bind_service"}, caps
    exposure = host.check_output("systemd-analyze security nginx | tail -1")
    # 9.6 without the sandbox; 2.7 measured with it.
    assert float(exposure.split("level for")[1].split(":")[1].split()[0]) <= 3.0, exposure
    host.run_test("nginx -t")
    host.run_test("systemctl reload nginx")
    assert host.service("nginx").is_running


def test_credentials_are_checked_once_then_from_memory(ca, url, v):
    # nginx's own auth_basic took about 130 ms of bcrypt per request; the checker remembers an accepted
    # password, so a password costs what a token costs.
    user = v["nginx_auth_users"][0]
    headers = {"basic": _basic(user["name"], user["password"]),
               "token": {"Authorization": f"Bearer {v['nginx_auth_tokens'][0]['token']}"}}
    medians = {}
    for kind, header in headers.items():
        times = []
        for _attempt in range(30):
            started = time.perf_counter()
            assert _status(ca, url, "/api/2.0/mlflow/experiments/search?max_results=1", header)[0] == 200
            times.append(time.perf_counter() - started)
        medians[kind] = sorted(times)[len(times) // 2]
    assert medians["basic"] < 0.05, medians
    assert medians["basic"] < 2 * medians["token"] + 0.005, medians


def test_credential_files_hold_no_credential_and_nginx_cannot_read_them(host, v):
    token = v["nginx_auth_tokens"][0]["token"]
    user = v["nginx_auth_users"][0]
    for path in ("/etc/mlflow-authn/users.htpasswd", "/etc/mlflow-authn/tokens"):
        f = host.file(path)
        assert (f.user, f.group, f.mode) == ("root", "mlflow-authn", 0o640), path
        assert host.run(f"runuser -u www-data -- cat {path}").rc != 0, f"www-data can read {path}"
    assert host.run(f"grep -rlF -- '{token}' /etc /run /var/lib/nginx /usr/local").stdout == ""
    assert host.run(f"grep -rlF -- '{user['password']}' /etc /run /var/lib/nginx /usr/local").stdout == ""
    assert not host.file("/etc/nginx/mlflow-tokens.map").exists


def test_the_credential_checker_runs_sandboxed_behind_its_socket(host):
    sock = host.file("/run/mlflow-authn.sock")
    assert sock.is_socket and (sock.user, sock.group, sock.mode) == ("root", "www-data", 0o660)
    props = host.service("mlflow-authn").systemd_properties
    assert props["User"] == "mlflow-authn"
    assert props["RestrictAddressFamilies"] == "AF_UNIX"
    exposure = host.check_output("systemd-analyze security mlflow-authn | tail -1")
    assert float(exposure.split("level for")[1].split(":")[1].split()[0]) <= 2.0, exposure


def test_a_credential_change_restarts_the_checker_without_failing_a_request(host, ca, url, v):
    header = {"Authorization": f"Bearer {v['nginx_auth_tokens'][0]['token']}"}
    pid = host.check_output("systemctl show -p MainPID --value mlflow-authn")
    stop = threading.Event()

    def client():
        statuses = []
        while not stop.is_set() or len(statuses) < 5:
            statuses.append(_status(ca, url, "/api/2.0/mlflow/experiments/search?max_results=1", header)[0])
        return statuses

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        clients = [pool.submit(client) for _client in range(4)]
        time.sleep(1)
        host.run_test("systemctl restart mlflow-authn")
        time.sleep(1)
        stop.set()
        statuses = [status for future in clients for status in future.result()]
    assert set(statuses) == {200}, statuses
    assert host.check_output("systemctl show -p MainPID --value mlflow-authn") != pid


def _bench_config(host, v, ca, tmp_path, **extra):
    """The make bench load generator's config on the host (0600: it holds credentials)."""
    user = v["nginx_auth_users"][0]
    port = v["mlflow_https_port"]
    host.run_test("mkdir -p -m 0700 /root/bench")
    local = tmp_path / "config.json"
    local.write_text(json.dumps({
        "targets": [
            {"name": "nginx-basic", "url": f"https://localhost:{port}", "verify": "/root/bench/ca.crt",
             "headers": _basic(user["name"], user["password"])},
            {"name": "nginx-token", "url": f"https://localhost:{port}", "verify": "/root/bench/ca.crt",
             "headers": {"Authorization": f"Bearer {v['nginx_auth_tokens'][0]['token']}"}}],
        "experiment": f"bench-smoke-{uuid.uuid4().hex[:8]}", "timeout": 60, **extra}))
    local.chmod(0o600)
    for source, target in ((local, "config.json"), (Path(ca), "ca.crt"), (PROJECT / "benchmarks/load.py", "load.py")):
        copied = host.ansible("copy", f"src={source} dest=/root/bench/{target} mode=0600", check=False)
        assert not copied.get("failed"), copied


def _bench(host, *args):
    result = host.run("/opt/mlflow/venv/bin/python /root/bench/load.py /root/bench/config.json --out /root/bench/out.json "
                      + " ".join(args))
    assert result.rc == 0, result.stderr[-2000:]
    return json.loads(host.check_output("cat /root/bench/out.json"))


def test_bench_smoke_every_operation_without_an_error(host, v, ca, tmp_path):
    # make bench's load generator, for seconds (the full run is a benchmark, not a test).
    _bench_config(host, v, ca, tmp_path, duration=2, warmup=1, threads=[1, 8], ops=["log_batch", "search_runs", "get_run", "create_run"])
    cases = _bench(host)["cases"]
    assert len(cases) == 2 * 2 * 4
    for case in cases:
        assert case["errors"] == 0 and case["count"] > 0, case


def test_no_request_fails_while_a_worker_stops_and_mlflow_reloads(host, v, ca, tmp_path):
    _bench_config(host, v, ca, tmp_path)
    host.run_test("rm -f /root/bench/started")
    soak = host.backend.run("setsid nohup /opt/mlflow/venv/bin/python /root/bench/load.py /root/bench/config.json "
                            "--soak 25 --threads 16 --target nginx-basic --started-file /root/bench/started "
                            "--out /root/bench/soak.json >/root/bench/soak.log 2>&1 &")
    assert soak.rc == 0
    deadline = time.time() + 120
    while not host.file("/root/bench/started").exists:
        assert time.time() < deadline, host.check_output("cat /root/bench/soak.log")
        time.sleep(1)
    time.sleep(5)
    main = host.check_output("systemctl show -p MainPID --value mlflow")
    worker = host.check_output(f"pgrep -P {main}").split()[0]
    host.run_test(f"kill -TERM {worker}")
    time.sleep(7)
    host.run_test("systemctl reload mlflow")
    while not host.file("/root/bench/soak.json").exists:
        assert time.time() < deadline + 60, host.check_output("cat /root/bench/soak.log")
        time.sleep(2)
    time.sleep(1)
    result = json.loads(host.check_output("cat /root/bench/soak.json"))["soak"]
    assert result["count"] > 100, result
    assert result["errors"] == 0, result["error_samples"]
    # The stopped workers are gone: no worker lingers past the handover.
    time.sleep(v.get("mlflow_worker_handover", 6) + 5)
    workers = int(host.check_output("sed -n 's/^workers = //p' /etc/mlflow/gunicorn.conf.py"))
    assert len(host.check_output(f"pgrep -P {main}").split()) == workers
