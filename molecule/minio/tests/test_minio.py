"""The MinIO store of the minio scenario, seen from inside the host (the client's view: test_default.py)."""

import base64
import os
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError


@pytest.fixture(scope="module")
def v(host):
    return host.ansible.get_variables()


def test_service_runs_sandboxed_as_minio(host):
    service = host.service("minio")
    assert service.is_running
    assert service.is_enabled
    properties = service.systemd_properties
    assert properties["User"] == "minio"
    assert properties["NoNewPrivileges"] == "yes"
    assert properties["ProtectSystem"] == "strict"
    assert properties["PrivateTmp"] == "yes"
    assert properties["LimitNOFILE"] == "1048576"
    assert "/var/lib/minio/data" in properties["ReadWritePaths"]
    # An empty set is left out of systemd_properties.
    assert host.check_output("systemctl show -p CapabilityBoundingSet --value minio") == ""


def test_binary_is_the_checksummed_one_behind_the_link(host):
    link = host.file("/opt/minio/bin/minio")
    assert link.is_symlink
    assert link.linked_to.startswith("/opt/minio/bin/minio-")
    assert host.file(link.linked_to).mode == 0o755
    assert host.file(link.linked_to).user == "root"


def test_environment_file_is_private(host):
    env = host.file("/etc/default/minio")
    assert (env.user, env.group, env.mode) == ("root", "minio", 0o640)


def test_no_secret_in_the_process_list(host, v):
    processes = host.check_output("ps -eo args")
    assert "minio server" in processes
    for secret in (v["minio_root_password"], v["mlflow_s3_secret_key"]):
        assert secret not in processes


def test_ready_and_listening(host):
    assert host.socket("tcp://0.0.0.0:9000").is_listening or host.socket("tcp://:::9000").is_listening
    assert host.socket("tcp://127.0.0.1:9001").is_listening
    assert host.run("python3 -c \"import urllib.request as u; print(u.urlopen('http://127.0.0.1:9000/minio/health/ready').status)\"").stdout.strip() == "200"


# Another team's bucket, made by the root user on MinIO's own port (the proxy refuses the root user).
_OTHER_BUCKET = """
from minio import Minio
env = dict(line.split("=", 1) for line in open("/etc/default/minio").read().splitlines() if "=" in line and line[0] != "#")
root = Minio("127.0.0.1:9000", access_key=env["MINIO_ROOT_USER"].strip('"'), secret_key=env["MINIO_ROOT_PASSWORD"].strip('"'), secure=False)
root.bucket_exists("other") or root.make_bucket("other")
"""


def test_mlflow_user_is_confined_to_its_bucket(host, v):
    """Through the proxy, as MLflow's clients: the MLflow user can neither create buckets nor use another one."""
    ca = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "mlflow-ca" / "ca.crt"
    url = f"https://localhost:{v['mlflow_s3_https_port']}"
    host.check_output(f"echo {base64.b64encode(_OTHER_BUCKET.encode()).decode()} | base64 -d > /root/other-bucket.py")
    host.run_test("/opt/minio/admin-venv/bin/python /root/other-bucket.py")
    root = boto3.client("s3", endpoint_url=url, verify=str(ca), region_name="us-east-1",
                        aws_access_key_id="admin", aws_secret_access_key=v["minio_root_password"])
    with pytest.raises(ClientError) as denied:
        root.list_buckets()
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403, "the proxy refuses the root user"
    mlflow = boto3.client("s3", endpoint_url=url, verify=str(ca), region_name="us-east-1",
                          aws_access_key_id="mlflow", aws_secret_access_key=v["mlflow_s3_secret_key"])
    for call in (lambda: mlflow.create_bucket(Bucket="mlflow-more"), lambda: mlflow.put_object(Bucket="other", Key="x", Body=b"x")):
        with pytest.raises(ClientError) as denied:
            call()
        assert denied.value.response["Error"]["Code"] == "AccessDenied"
    mlflow.put_object(Bucket="mlflow", Key="confined-check", Body=b"x")
    mlflow.delete_objects(Bucket="mlflow", Delete={"Objects": [{"Key": "confined-check"}]})
