"""SeaweedFS as MLflow's artifact store, exercised with boto3 as MLflow would use it."""

import hashlib
import io
import os
import shlex
import subprocess
import time
import uuid

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def v(host):
    return host.ansible.get_variables()


@pytest.fixture(scope="module")
def endpoint(v):
    # The S3 port is published on 127.0.0.1 only (see molecule.yml).
    published = subprocess.check_output(["docker", "port", v["inventory_hostname"], "8333/tcp"], text=True)
    return "http://" + published.splitlines()[0].strip()


def _client(endpoint, access_key, secret_key):
    # botocore's default retries, as in MLflow's own S3 client: right after a restart the gateway can
    # answer a read with a 500 for a second or two, until it has learnt where the volumes are.
    return boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=access_key, aws_secret_access_key=secret_key,
        region_name="us-east-1", config=Config(signature_version="s3v4"),
    )


@pytest.fixture(scope="module")
def mlflow_s3(endpoint, v):
    return _client(endpoint, "mlflow", v["mlflow_s3_secret_key"])


@pytest.fixture(scope="module")
def admin_s3(endpoint, v):
    return _client(endpoint, "admin", v["seaweedfs_admin_secret_key"])


def _error_code(call):
    try:
        call()
    except ClientError as exc:
        return exc.response["Error"]["Code"]
    return None


# The role's readiness rule, checked on the host: /healthz answers 200 and the master knows every
# volume the volume server holds (before that, reads of existing objects fail).
READY = """
import json, sys, urllib.request
def get(url):
    return json.load(urllib.request.urlopen(url, timeout=3)) if url.endswith("status") else urllib.request.urlopen(url, timeout=3).status
try:
    healthy = get("http://127.0.0.1:8333/healthz") == 200
    held = len(get("http://127.0.0.1:8080/status").get("Volumes") or [])
    topology = get("http://127.0.0.1:9333/dir/status")["Topology"]
except Exception:
    sys.exit(1)
sys.exit(0 if healthy and topology["Max"] - topology["Free"] >= held else 1)
"""


def _wait_ready(host, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if host.run(f"python3 -c {shlex.quote(READY)}").rc == 0:
            return
        time.sleep(1)
    raise AssertionError(f"SeaweedFS was not ready {timeout} s after the restart")


def test_unit_is_running_sandboxed(host):
    unit = host.service("seaweedfs")
    assert unit.is_running and unit.is_enabled
    props = unit.systemd_properties
    assert props["User"] == "seaweedfs"
    assert props["NoNewPrivileges"] == "yes"
    assert props["ProtectSystem"] == "strict"
    assert props["PrivateTmp"] == "yes"
    assert host.check_output("systemctl show -p CapabilityBoundingSet --value seaweedfs") == ""
    assert props["TimeoutStopUSec"] == "1min 30s"
    assert "/etc/systemd/system/seaweedfs.service.d/sandbox.conf" in props["DropInPaths"].split()
    assert props["MemoryDenyWriteExecute"] == "yes" and props["ProcSubset"] == "pid"
    exposure = host.check_output("systemd-analyze security seaweedfs | tail -1")
    assert float(exposure.split("level for")[1].split(":")[1].split()[0]) <= 2.0, exposure


def test_process_runs_without_telemetry_or_secrets_in_its_arguments(host, v):
    args = host.check_output("ps -eo args")
    weed = [line for line in args.splitlines() if "weed server" in line]
    assert len(weed) == 1
    assert "-master.telemetry=false" in weed[0]
    assert "-ip=127.0.0.1" in weed[0] and "-ip.bind=127.0.0.1" in weed[0]
    assert v["mlflow_s3_secret_key"] not in args
    assert v["seaweedfs_admin_secret_key"] not in args


def test_identities_file_is_private(host):
    identities = host.file("/etc/seaweedfs/s3.json")
    assert (identities.user, identities.group, identities.mode) == ("root", "seaweedfs", 0o640)


# Every gRPC port of the node, as `weed server` opens them: the S3 gateway's follows the S3 bind address.
GRPC_PORTS = {"master": 19333, "volume": 18080, "filer": 18888, "s3": 18333}

# Opens a gRPC (HTTP/2 over TLS) connection, with or without a client certificate, and reports what
# the server answered: "settings" (a gRPC server talking), "refused: <reason>", or "closed".
GRPC_PROBE = """
import socket, ssl, sys
address, port = sys.argv[1], int(sys.argv[2])
context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
context.set_alpn_protocols(["h2"])
if len(sys.argv) > 3:
    context.load_cert_chain(sys.argv[3], sys.argv[4])
try:
    with context.wrap_socket(socket.create_connection((address, port), timeout=5)) as tls:
        tls.sendall(b"PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))
        frame = tls.recv(9)
        print("settings" if len(frame) == 9 and frame[3] == 4 else "closed")
except (ssl.SSLError, OSError) as exc:
    print("refused: %s" % exc)
"""


def _grpc_probe(host, address, port, *client_cert):
    command = "python3 -c %s %s %s" + " %s" * len(client_cert)
    return host.check_output(command, GRPC_PROBE, address, str(port), *client_cert).strip()


def test_grpc_ports_refuse_peers_without_the_node_certificate(host):
    # The S3 gateway's gRPC port listens on every address, like the S3 port: from another host it
    # once accepted unauthenticated identity changes (SeaweedS3IamCache/PutIdentity).
    assert host.socket("tcp://0.0.0.0:%d" % GRPC_PORTS["s3"]).is_listening
    cert = ("/etc/seaweedfs/grpc-tls/node.crt", "/etc/seaweedfs/grpc-tls/node.key")
    for name, port in GRPC_PORTS.items():
        address = "127.0.0.1" if name != "s3" else host.check_output("hostname -I").split()[0]
        refused = _grpc_probe(host, address, port)
        assert refused.startswith("refused") and "CERTIFICATE_REQUIRED" in refused.upper(), (name, refused)
        # The same probe with the node's certificate reaches a gRPC server: the refusal above is TLS.
        assert _grpc_probe(host, address, port, *cert) == "settings", name


def test_grpc_ports_refuse_other_certificates_of_the_collection_ca(host):
    # converge.yml issued /root/foreign/foreign.crt from the same CA, with a name that is no store node.
    foreign = ("/root/foreign/foreign.crt", "/root/foreign/foreign.key")
    ca = "/etc/seaweedfs/grpc-tls/ca.crt"
    for path in (foreign[0], "/etc/seaweedfs/grpc-tls/node.crt"):
        assert host.run(f"openssl verify -CAfile {ca} {path}").rc == 0, path
    assert "seaweedfs-grpc-" in host.check_output("openssl x509 -noout -subject -in /etc/seaweedfs/grpc-tls/node.crt")
    for name, port in GRPC_PORTS.items():
        address = "127.0.0.1" if name != "s3" else host.check_output("hostname -I").split()[0]
        assert _grpc_probe(host, address, port, *foreign) != "settings", name


def test_grpc_keys_are_private_and_the_ca_key_stays_on_the_controller(host):
    key = host.file("/etc/seaweedfs/grpc-tls/node.key")
    assert (key.mode, key.user, key.group) == (0o640, "root", "seaweedfs")
    assert not host.file("/etc/seaweedfs/grpc-tls/ca.key").exists
    assert host.file("/etc/seaweedfs/security.toml").mode == 0o640


def test_installed_build_is_the_pinned_one(host):
    assert " 4.48 " in host.check_output("/opt/seaweedfs/bin/weed version")


def test_mlflow_identity_works_in_its_bucket(mlflow_s3):
    key = f"verify/{uuid.uuid4()}"
    small = os.urandom(1000)
    mlflow_s3.put_object(Bucket="mlflow", Key=f"{key}/small.bin", Body=small)

    big = os.urandom(20 * MIB)
    multipart = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
    mlflow_s3.upload_fileobj(io.BytesIO(big), "mlflow", f"{key}/big.bin", Config=multipart)
    head = mlflow_s3.head_object(Bucket="mlflow", Key=f"{key}/big.bin")
    assert head["ContentLength"] == 20 * MIB
    assert head["ETag"].strip('"').endswith("-4"), "20 MiB in 5 MiB parts is a 4-part multipart upload"

    listed = mlflow_s3.list_objects_v2(Bucket="mlflow", Prefix=key)
    assert sorted(o["Key"] for o in listed["Contents"]) == [f"{key}/big.bin", f"{key}/small.bin"]

    got = mlflow_s3.get_object(Bucket="mlflow", Key=f"{key}/big.bin")["Body"].read()
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(big).hexdigest()
    assert mlflow_s3.get_object(Bucket="mlflow", Key=f"{key}/small.bin")["Body"].read() == small

    deleted = mlflow_s3.delete_objects(Bucket="mlflow", Delete={"Objects": [{"Key": f"{key}/small.bin"}, {"Key": f"{key}/big.bin"}]})
    assert len(deleted.get("Deleted", [])) == 2
    assert mlflow_s3.list_objects_v2(Bucket="mlflow", Prefix=key)["KeyCount"] == 0


def test_mlflow_identity_cannot_create_buckets_or_touch_other_buckets(mlflow_s3, admin_s3):
    assert _error_code(lambda: mlflow_s3.create_bucket(Bucket="mlflow-denied")) == "AccessDenied"
    admin_s3.create_bucket(Bucket="other-team")
    try:
        admin_s3.put_object(Bucket="other-team", Key="secret.txt", Body=b"not for mlflow")
        assert _error_code(lambda: mlflow_s3.get_object(Bucket="other-team", Key="secret.txt")) == "AccessDenied"
        assert _error_code(lambda: mlflow_s3.put_object(Bucket="other-team", Key="x", Body=b"x")) == "AccessDenied"
        assert _error_code(lambda: mlflow_s3.list_objects_v2(Bucket="other-team")) == "AccessDenied"
    finally:
        admin_s3.delete_object(Bucket="other-team", Key="secret.txt")
        admin_s3.delete_bucket(Bucket="other-team")


def test_wrong_secret_is_refused(endpoint):
    intruder = _client(endpoint, "mlflow", "not-the-secret-key")
    assert _error_code(lambda: intruder.list_objects_v2(Bucket="mlflow")) == "SignatureDoesNotMatch"
    unknown = _client(endpoint, "nobody", "not-the-secret-key")
    assert _error_code(lambda: unknown.list_objects_v2(Bucket="mlflow")) == "InvalidAccessKeyId"


def test_restart_keeps_objects_and_stops_in_time(host, mlflow_s3):
    body = os.urandom(64 * 1024)
    mlflow_s3.put_object(Bucket="mlflow", Key="verify/survivor.bin", Body=body)
    started = time.monotonic()
    host.run_test("systemctl restart seaweedfs")
    assert time.monotonic() - started < 90, "the restart took longer than the stop timeout"
    _wait_ready(host)
    assert mlflow_s3.get_object(Bucket="mlflow", Key="verify/survivor.bin")["Body"].read() == body
    mlflow_s3.delete_object(Bucket="mlflow", Key="verify/survivor.bin")
