"""The published S3 endpoint admits only MLflow: its access key, its bucket, its operations.

Seen from the controller through nginx's published S3 port, with the MLflow identity and with the store's
admin identity (roles/nginx/README.md, "What the S3 endpoint admits"). A bucket of another team is made
on the store's own port inside the host, where the admin identity can read it: through the proxy it cannot.
"""

import base64
import hashlib
import http.client
import json
import os
import ssl
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit

import boto3
import pytest
import yaml
from boto3.s3.transfer import TransferConfig
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).parents[3]))
MIB = 1024 * 1024
OTHER = "other-team"
REFUSED = "Refused by the MLflow S3 endpoint"


def _default(role, name):
    """A role default, for what the scenario's inventory leaves unset (testinfra sees the inventory only)."""
    return yaml.safe_load((PROJECT / "roles" / role / "defaults" / "main.yml").read_text())[name]


@pytest.fixture(scope="module")
def v(host):
    return host.ansible.get_variables()


@pytest.fixture(scope="module")
def ca():
    path = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "mlflow-ca" / "ca.crt"
    assert path.is_file(), "the CA certificate is on the controller"
    return str(path)


@pytest.fixture(scope="module")
def s3_url(v):
    return f"https://localhost:{v['mlflow_s3_https_port']}"


@pytest.fixture(scope="module")
def url(v):
    return f"https://localhost:{v['mlflow_https_port']}"


@pytest.fixture(scope="module")
def bucket(v):
    return v.get("mlflow_s3_bucket", _default("common", "mlflow_s3_bucket"))


@pytest.fixture(scope="module")
def keys(v):
    """(access key, secret key) of the MLflow identity and of the store's admin identity."""
    mlflow = (v.get("mlflow_s3_access_key", _default("common", "mlflow_s3_access_key")), v["mlflow_s3_secret_key"])
    if v.get("mlflow_s3_store", _default("common", "mlflow_s3_store")) == "minio":
        admin = (v.get("minio_root_user", _default("minio", "minio_root_user")), v["minio_root_password"])
    else:
        admin = (v.get("seaweedfs_admin_access_key", _default("seaweedfs", "seaweedfs_admin_access_key")),
                 v["seaweedfs_admin_secret_key"])
    return {"mlflow": mlflow, "admin": admin}


def _client(s3_url, ca, key, **config):
    # SigV4, as MLflow's S3 client signs (MLFLOW_EXPERIMENTAL_S3_SIGNATURE_VERSION defaults to s3v4).
    return boto3.client("s3", endpoint_url=s3_url, verify=ca, region_name="us-east-1",
                        aws_access_key_id=key[0], aws_secret_access_key=key[1],
                        config=Config(signature_version=config.pop("signature_version", "s3v4"),
                                      s3={"addressing_style": "path"}, retries={"max_attempts": 1}, **config))


@pytest.fixture(scope="module")
def mlflow_s3(s3_url, ca, keys):
    return _client(s3_url, ca, keys["mlflow"])


@pytest.fixture(scope="module")
def admin_s3(s3_url, ca, keys):
    return _client(s3_url, ca, keys["admin"])


_STORE_SCRIPT = r"""
import json, sys, boto3
store, port, bucket, other = sys.argv[1:5]
if store == "minio":
    env = dict(line.split("=", 1) for line in open("/etc/default/minio").read().splitlines() if "=" in line and not line.startswith("#"))
    key = (env["MINIO_ROOT_USER"].strip('"'), env["MINIO_ROOT_PASSWORD"].strip('"'))
else:
    admin = [i for i in json.load(open("/etc/seaweedfs/s3.json"))["identities"] if i["name"] == "admin"][0]
    key = (admin["credentials"][0]["accessKey"], admin["credentials"][0]["secretKey"])
s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:" + port, region_name="us-east-1",
                  aws_access_key_id=key[0], aws_secret_access_key=key[1])
if other not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
    s3.create_bucket(Bucket=other)
s3.put_object(Bucket=other, Key="report.txt", Body=b"another team's data")
print(json.dumps({"buckets": sorted(b["Name"] for b in s3.list_buckets()["Buckets"]),
                  "other": s3.get_object(Bucket=other, Key="report.txt")["Body"].read().decode(),
                  "mlflow_listed": s3.list_objects_v2(Bucket=bucket, MaxKeys=1)["ResponseMetadata"]["HTTPStatusCode"]}))
"""


@pytest.fixture(scope="module")
def other_bucket(host, v, bucket):
    """Another team's bucket with an object, made with the admin identity on the store's own port."""
    store = v.get("mlflow_s3_store", _default("common", "mlflow_s3_store"))
    port = v.get("minio_api_port", _default("minio", "minio_api_port")) if store == "minio" \
        else v.get("seaweedfs_s3_port", _default("seaweedfs", "seaweedfs_s3_port"))
    # The admin secret is read on the host from the store's own configuration: none on a command line.
    script = "/root/s3-front-store.py"
    host.check_output(f"echo {base64.b64encode(_STORE_SCRIPT.encode()).decode()} | base64 -d > {script}")
    result = host.run(f"/opt/mlflow/venv/bin/python {script} {store} {port} {bucket} {OTHER}")
    assert result.rc == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    # On its own port the store serves the admin everything: the bucket list, the other bucket, MLflow's.
    assert {OTHER, bucket} <= set(seen["buckets"]) and seen["other"] == "another team's data", seen
    assert seen["mlflow_listed"] == 200
    return OTHER


def _refusal(call):
    """The status and message of a refused boto3 call."""
    with pytest.raises(ClientError) as refused:
        call()
    error = refused.value.response
    return error["ResponseMetadata"]["HTTPStatusCode"], error["Error"].get("Code"), error["Error"].get("Message", "")


def _assert_refused(call, reason):
    status, code, message = _refusal(call)
    assert (status, code) == (403, "AccessDenied"), (status, code, message)
    assert f"{REFUSED} ({reason})" in message, message


def _raw(s3_url, ca, method, target, headers=None, body=b"", key=None):
    """One request with the target sent exactly as given (no client normalizes it); SigV4-signed with key."""
    headers = dict(headers or {})
    if key:
        request = AWSRequest(method=method, url=s3_url + target, data=body, headers=headers)
        request.headers["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
        SigV4Auth(Credentials(*key), "s3", "us-east-1").add_auth(request)
        headers = dict(request.headers.items())
    parts = urlsplit(s3_url)
    connection = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=30,
                                             context=ssl.create_default_context(cafile=ca))
    try:
        connection.request(method, target, body=body or None, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace"), dict(response.getheaders())
    finally:
        connection.close()


# --------------------------------------------------------------------------- the admin identity


def test_the_admin_identity_reaches_nothing_through_the_proxy(admin_s3, other_bucket, bucket):
    # The same calls the store answered on its own port (other_bucket) are refused here.
    _assert_refused(lambda: admin_s3.get_object(Bucket=other_bucket, Key="report.txt"), "path")
    _assert_refused(lambda: admin_s3.list_objects_v2(Bucket=other_bucket), "path")
    _assert_refused(admin_s3.list_buckets, "path")
    _assert_refused(lambda: admin_s3.create_bucket(Bucket=f"admin-{uuid.uuid4().hex[:8]}"), "path")
    # Even on MLflow's own bucket, where the admin could read and write everything.
    _assert_refused(lambda: admin_s3.list_objects_v2(Bucket=bucket, Prefix="artifacts/"), "identity")
    _assert_refused(lambda: admin_s3.put_object(Bucket=bucket, Key="artifacts/admin.txt", Body=b"x"), "identity")
    _assert_refused(lambda: admin_s3.get_object(Bucket=bucket, Key="artifacts/admin.txt"), "identity")
    _assert_refused(lambda: admin_s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "artifacts/x"}]}), "identity")
    _assert_refused(lambda: admin_s3.create_multipart_upload(Bucket=bucket, Key="artifacts/admin.bin"), "identity")


def test_presigned_urls_of_the_admin_identity_are_refused(s3_url, ca, bucket, keys):
    for signature_version in ("s3v4", "s3"):
        client = _client(s3_url, ca, keys["admin"], signature_version=signature_version)
        for method, params in (("get_object", {"Key": "artifacts/x"}), ("put_object", {"Key": "artifacts/x"})):
            presigned = client.generate_presigned_url(method, Params={"Bucket": bucket, **params})
            status, body = _fetch(ca, presigned, "GET" if method == "get_object" else "PUT", b"x" if method == "put_object" else None)
            assert status == 403 and f"{REFUSED} (identity)" in body, (signature_version, method, status, body)


# --------------------------------------------------------------------------- the MLflow identity


def test_the_mlflow_identity_is_confined_to_its_bucket(mlflow_s3, other_bucket, bucket):
    _assert_refused(lambda: mlflow_s3.get_object(Bucket=other_bucket, Key="report.txt"), "path")
    _assert_refused(lambda: mlflow_s3.put_object(Bucket=other_bucket, Key="x", Body=b"x"), "path")
    _assert_refused(lambda: mlflow_s3.list_objects_v2(Bucket=other_bucket), "path")
    _assert_refused(mlflow_s3.list_buckets, "path")
    _assert_refused(lambda: mlflow_s3.create_bucket(Bucket=f"{bucket}-more"), "path")


def test_the_mlflow_identity_gets_no_bucket_administration(mlflow_s3, bucket, other_bucket):
    calls = [
        lambda: mlflow_s3.delete_bucket(Bucket=bucket),
        lambda: mlflow_s3.put_bucket_acl(Bucket=bucket, ACL="public-read"),
        lambda: mlflow_s3.get_bucket_policy(Bucket=bucket),
        lambda: mlflow_s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}),
        lambda: mlflow_s3.list_multipart_uploads(Bucket=bucket),
        # ListObjects version 1: MLflow lists with version 2 only.
        lambda: mlflow_s3.list_objects(Bucket=bucket),
        lambda: mlflow_s3.put_object_acl(Bucket=bucket, Key="artifacts/x", ACL="public-read"),
        lambda: mlflow_s3.copy_object(Bucket=bucket, Key="artifacts/copy.txt", CopySource={"Bucket": other_bucket, "Key": "report.txt"}),
    ]
    for call in calls:
        _assert_refused(call, "operation")


def test_minio_and_store_paths_are_refused(s3_url, ca, keys):
    # MinIO's admin API, metrics, health and console paths; SeaweedFS's IAM API and status pages. Signed
    # with MLflow's key, so the path alone refuses them.
    for method, target in (("GET", "/minio/admin/v3/info"), ("POST", "/minio/admin/v3/add-user?accessKey=x"),
                           ("GET", "/minio/v2/metrics/cluster"), ("GET", "/minio/health/live"),
                           ("POST", "/?Action=CreateUser&UserName=x"), ("GET", "/status"), ("GET", "/")):
        for key in (keys["mlflow"], keys["admin"], None):
            status, body, headers = _raw(s3_url, ca, method, target, key=key)
            assert status == 403 and f"{REFUSED} (path)" in body, (method, target, status, body)
            assert headers.get("Content-Type") == "application/xml"


def test_smuggled_identities_and_paths_are_refused(s3_url, ca, keys, bucket):
    object_path = f"/{bucket}/artifacts/smuggled.txt"
    admin_key = quote(keys["admin"][0], safe="")
    cases = [
        # Signed by MLflow in the header, while the store would take the admin's presigned SigV2 query first.
        ("identity", "GET", f"{object_path}?AWSAccessKeyId={admin_key}&Signature=x&Expires=9999999999", keys["mlflow"]),
        # Two presigned credentials, in different letter cases.
        ("identity", "GET", f"{object_path}?x-amz-credential={admin_key}%2F20260101%2Fus-east-1%2Fs3%2Faws4_request"
                            f"&X-Amz-Credential={quote(keys['mlflow'][0])}%2F20260101%2Fus-east-1%2Fs3%2Faws4_request"
                            "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=x", None),
        # A parameter name the store decodes to X-Amz-Credential.
        ("identity", "GET", f"{object_path}?X-Amz-%43redential={admin_key}%2F20260101%2Fus-east-1%2Fs3%2Faws4_request"
                            "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=x", keys["mlflow"]),
        # Unsigned.
        ("identity", "GET", object_path, None),
        # Dot segments: nginx would resolve them to the MLflow bucket, the store perhaps not.
        ("path", "GET", f"/{OTHER}/../{bucket}/artifacts/x", keys["mlflow"]),
        ("path", "GET", f"/{bucket}/%2E%2E/{OTHER}/report.txt", keys["mlflow"]),
        ("path", "GET", f"/{bucket}%2F..%2F{OTHER}/report.txt", keys["mlflow"]),
    ]
    for reason, method, target, key in cases:
        status, body, _headers = _raw(s3_url, ca, method, target, key=key)
        assert status == 403 and f"{REFUSED} ({reason})" in body, (target, status, body)
    # A header that names MLflow's key with more path segments (MinIO would read the key as "mlflow/x").
    status, body, _headers = _raw(s3_url, ca, "GET", object_path, headers={
        "Authorization": f"AWS4-HMAC-SHA256 Credential={keys['mlflow'][0]}/x/20260101/us-east-1/s3/aws4_request, "
                         "SignedHeaders=host, Signature=0"})
    assert status == 403 and f"{REFUSED} (identity)" in body, body


def test_the_mlflow_identity_lists_reads_writes_and_deletes_in_its_bucket(mlflow_s3, bucket, tmp_path):
    prefix = f"artifacts/s3-front-{uuid.uuid4().hex[:8]}/"
    mlflow_s3.put_object(Bucket=bucket, Key=prefix + "a.txt", Body=b"alpha")
    assert mlflow_s3.get_object(Bucket=bucket, Key=prefix + "a.txt")["Body"].read() == b"alpha"
    assert mlflow_s3.head_object(Bucket=bucket, Key=prefix + "a.txt")["ContentLength"] == 5
    assert mlflow_s3.get_object(Bucket=bucket, Key=prefix + "a.txt", Range="bytes=1-2")["Body"].read() == b"lp"
    # list_artifacts: ListObjectsV2 with a prefix and a delimiter, page by page.
    mlflow_s3.put_object(Bucket=bucket, Key=prefix + "sub/b.txt", Body=b"beta")
    listed = mlflow_s3.list_objects_v2(Bucket=bucket, Prefix=prefix, Delimiter="/")
    assert [o["Key"] for o in listed["Contents"]] == [prefix + "a.txt"]
    assert [p["Prefix"] for p in listed["CommonPrefixes"]] == [prefix + "sub/"]
    pages = list(mlflow_s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": 1}))
    assert [o["Key"] for page in pages for o in page.get("Contents", [])] == [prefix + "a.txt", prefix + "sub/b.txt"]
    # boto3's managed transfers, as MLflow's S3 repository uploads and downloads: multipart above 8 MiB.
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(12 * MIB))
    transfer = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
    mlflow_s3.upload_file(str(big), bucket, prefix + "big.bin", Config=transfer)
    mlflow_s3.download_file(bucket, prefix + "big.bin", str(tmp_path / "back.bin"), Config=transfer)
    assert (tmp_path / "back.bin").read_bytes() == big.read_bytes()
    # An aborted multipart upload.
    upload = mlflow_s3.create_multipart_upload(Bucket=bucket, Key=prefix + "aborted.bin")["UploadId"]
    mlflow_s3.upload_part(Bucket=bucket, Key=prefix + "aborted.bin", PartNumber=1, UploadId=upload, Body=b"x" * 1024)
    mlflow_s3.abort_multipart_upload(Bucket=bucket, Key=prefix + "aborted.bin", UploadId=upload)
    # delete_artifacts: DeleteObjects, and DeleteObject.
    mlflow_s3.delete_object(Bucket=bucket, Key=prefix + "sub/b.txt")
    keys = [{"Key": o["Key"]} for o in mlflow_s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]]
    assert mlflow_s3.delete_objects(Bucket=bucket, Delete={"Objects": keys}).get("Errors", []) == []
    assert mlflow_s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["KeyCount"] == 0


def _fetch(ca, url, method="GET", body=None, headers=None):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=ca), timeout=60) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def test_presigned_urls_of_the_mlflow_identity_work(s3_url, ca, keys, bucket):
    key = f"artifacts/s3-front-{uuid.uuid4().hex[:8]}/presigned.txt"
    # SigV4 as MLflow signs, and SigV2, boto3's default for presigned URLs without a signature setting.
    for signature_version in ("s3v4", "s3"):
        client = _client(s3_url, ca, keys["mlflow"], signature_version=signature_version)
        put = client.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key, "ContentType": "text/plain"})
        assert _fetch(ca, put, "PUT", signature_version.encode(), {"Content-Type": "text/plain"})[0] == 200
        # MLflow's presigned downloads name the file (SeaweedFS checks SigV2 without such overrides).
        overrides = {"ResponseContentDisposition": 'attachment; filename="presigned.txt"'} if signature_version == "s3v4" else {}
        get = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key, **overrides})
        assert _fetch(ca, get) == (200, signature_version)
        # The signature covers the path: the same query on another bucket is refused by nginx.
        assert _fetch(ca, get.replace(f"/{bucket}/", f"/{OTHER}/", 1))[0] == 403
    client.delete_object(Bucket=bucket, Key=key)


def test_mlflow_hands_out_presigned_multipart_uploads_and_downloads_that_work(ca, url, s3_url, v):
    """The tracking server's own S3 calls (create, complete, abort) and the client's presigned parts."""
    token = {"Authorization": f"Bearer {v['nginx_auth_tokens'][0]['token']}", "Content-Type": "application/json"}

    def call(method, path, payload=None):
        status, body = _fetch(ca, url + path, method, json.dumps(payload).encode() if payload is not None else None, token)
        assert status == 200, (path, status, body)
        return json.loads(body)

    experiment = call("POST", "/api/2.0/mlflow/experiments/create", {"name": f"s3-front-{uuid.uuid4().hex[:8]}"})["experiment_id"]
    run = call("POST", "/api/2.0/mlflow/runs/create", {"experiment_id": experiment, "start_time": int(time.time() * 1000)})
    root = f"{experiment}/{run['run']['info']['run_id']}/artifacts"
    parts = [os.urandom(5 * MIB), os.urandom(MIB)]
    created = call("POST", f"/api/2.0/mlflow-artifacts/mpu/create/{root}", {"path": "model.bin", "num_parts": len(parts)})
    etags = []
    for credential, data in zip(sorted(created["credentials"], key=lambda c: c["part_number"]), parts):
        assert credential["url"].startswith(s3_url + "/"), "MLflow signs its URLs for the published endpoint"
        request = urllib.request.Request(credential["url"], data=data, method="PUT", headers=credential.get("headers") or {})
        with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=ca), timeout=60) as response:
            etags.append({"part_number": credential["part_number"], "etag": response.headers["ETag"]})
    call("POST", f"/api/2.0/mlflow-artifacts/mpu/complete/{root}",
         {"path": "model.bin", "upload_id": created["upload_id"], "parts": etags})
    presigned = call("GET", f"/api/2.0/mlflow-artifacts/presigned/{root}/model.bin")
    assert presigned["url"].startswith(s3_url + "/")
    request = urllib.request.Request(presigned["url"], headers=presigned.get("headers") or {})
    with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=ca), timeout=60) as response:
        assert hashlib.sha256(response.read()).digest() == hashlib.sha256(b"".join(parts)).digest()
    # An upload the client gives up on.
    aborted = call("POST", f"/api/2.0/mlflow-artifacts/mpu/create/{root}", {"path": "aborted.bin", "num_parts": 1})
    call("POST", f"/api/2.0/mlflow-artifacts/mpu/abort/{root}", {"path": "aborted.bin", "upload_id": aborted["upload_id"]})
    # list_artifacts and delete_artifacts, through the server: ListObjectsV2 and DeleteObjects.
    listed = call("GET", f"/api/2.0/mlflow-artifacts/artifacts?path={quote(root)}")
    assert [f["path"] for f in listed["files"]] == ["model.bin"]
    status, body = _fetch(ca, url + f"/api/2.0/mlflow-artifacts/artifacts/{root}/model.bin", "DELETE", None, token)
    assert status == 200, body
    assert call("GET", f"/api/2.0/mlflow-artifacts/artifacts?path={quote(root)}").get("files", []) == []


# --------------------------------------------------------------------------- headers


def _headers(ca, url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=ca), timeout=30) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


def test_security_headers(ca, url, s3_url, v):
    token = {"Authorization": f"Bearer {v['nginx_auth_tokens'][0]['token']}"}
    # Open, refused (nginx's own 401) and proxied responses alike; one copy each, though MLflow 3 sends
    # nosniff too.
    for path, headers, expected in (("/health", {}, 200), ("/", {}, 401), ("/", token, 200),
                                    ("/api/2.0/mlflow/experiments/search?max_results=1", token, 200)):
        status, got = _headers(ca, url + path, headers)
        assert status == expected, path
        assert got.get_all("X-Content-Type-Options") == ["nosniff"], (path, got.items())
        assert got.get_all("Referrer-Policy") == ["same-origin"], (path, got.items())
        assert got.get_all("Strict-Transport-Security") == ["max-age=63072000"], (path, got.items())
    status, got = _headers(ca, s3_url + "/")
    assert status == 403 and got.get_all("X-Content-Type-Options") == ["nosniff"], got.items()
    assert got.get_all("Referrer-Policy") == ["no-referrer"], got.items()
    assert got.get_all("Strict-Transport-Security") == ["max-age=63072000"]
