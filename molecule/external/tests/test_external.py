"""The stack without authentication in front of an external S3 store, as a client on the stack host sees it.

mlflow_auth_mode none keeps MLflow and the proxy on loopback, so the official client runs on the stack
host (with the server venv's MLflow) and reaches MLflow through the proxy at https://localhost. The
store is a SeaweedFS on another host that the stack knows only by its endpoint URL.
"""

import json
import os
import shlex
import sys
from pathlib import Path

import pytest
import testinfra

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).parents[3]))
sys.path.insert(0, str(PROJECT / "molecule" / "_shared"))
from client_env import client_command  # noqa: E402
INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
PYTHON = "/opt/mlflow/venv/bin/python"
CA = "/root/mlflow-ca.crt"
# The client bundle the README names, as a user would fetch it (roles/common/tasks/ca.yml).
BUNDLE = "/root/mlflow-client-bundle.pem"


@pytest.fixture(scope="module")
def stack():
    return testinfra.get_host("ansible://external-debian13", ansible_inventory=INVENTORY)


@pytest.fixture(scope="module")
def store():
    return testinfra.get_host("ansible://s3-external-debian13", ansible_inventory=INVENTORY)


@pytest.fixture(scope="module")
def client(stack):
    """The e2e script and the collection CA on the stack host, as a user of that host would have them."""
    ca = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "mlflow-ca" / "ca.crt"
    stack.ansible("copy", f"src={ca} dest={CA} mode=0644", check=False)
    stack.ansible("copy", f"src={ca.with_name('client-bundle.pem')} dest={BUNDLE} mode=0644", check=False)
    stack.ansible("copy", f"src={PROJECT / 'tests/e2e/mlflow_e2e.py'} dest=/root/mlflow_e2e.py mode=0644", check=False)
    return stack


def _e2e(stack, command):
    # The client settings the README gives; the external store's presigned URLs are plain HTTP.
    result = stack.run(client_command(f"{PYTHON} /root/mlflow_e2e.py {command}", "https://localhost", BUNDLE,
                                      MLFLOW_E2E_REQUIRE_MULTIPART="true", GIT_PYTHON_REFRESH="quiet"))
    assert result.rc == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads([line for line in result.stdout.splitlines() if line.startswith("{")][-1])


def _bucket_keys(stack, prefix=""):
    """Keys of the external bucket, read with the MLflow S3 identity from the stack host."""
    code = ("import boto3, json, os; s3 = boto3.client('s3', endpoint_url=os.environ['MLFLOW_S3_ENDPOINT_URL']); "
            f"print(json.dumps([o['Key'] for p in s3.get_paginator('list_objects_v2').paginate(Bucket='mlflow', Prefix='{prefix}') "
            "for o in p.get('Contents', [])]))")
    out = stack.check_output(f"set -a; . /etc/mlflow/mlflow.env; set +a; {PYTHON} -c {shlex.quote(code)}")
    return json.loads(out)


def test_mlflow_and_the_proxy_listen_on_loopback_only(stack):
    listening = stack.socket.get_listening_sockets()
    assert "tcp://127.0.0.1:443" in listening
    assert "tcp://127.0.0.1:5000" in listening
    exposed = [s for s in listening if s.endswith((":443", ":80", ":5000")) and not s.startswith(("tcp://127.0.0.1:", "tcp://::1:"))]
    assert exposed == []


def test_the_stack_host_runs_no_store(stack):
    assert not stack.service("seaweedfs").is_running
    assert not stack.file("/etc/seaweedfs").exists


def test_the_api_answers_without_credentials(client):
    code = ("import ssl, urllib.request; "
            f"c = ssl.create_default_context(cafile='{CA}'); "
            "r = urllib.request.urlopen('https://localhost/api/2.0/mlflow/experiments/search?max_results=1', context=c, timeout=30); "
            "print(r.status)")
    assert client.check_output(f"python3 -c {shlex.quote(code)}") == "200"


@pytest.fixture(scope="module")
def full(client):
    return _e2e(client, "full")


def test_official_client_round_trips_everything_through_the_external_store(full):
    assert full["ok"] is True
    assert full["big_upload_multipart"] is True
    assert full["presigned_endpoint"].startswith("http://s3-external-debian13:8333")


def test_the_artifacts_are_in_the_external_bucket(client, full):
    keys = _bucket_keys(client)
    run_keys = [key for key in keys if f"/{full['run_id']}/artifacts/" in key]
    assert run_keys, keys[:20]
