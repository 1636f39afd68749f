"""Artifact throughput for make bench: the official MLflow client through nginx vs boto3 to the store.

Runs inside the demo container as root with /opt/mlflow/venv/bin/python:
  artifacts.py CONFIG [--out FILE]
CONFIG (see run.sh) holds `artifacts`: tracking_uri, username, password, ca, size_mib, s3_endpoint,
experiment. The store's credentials and bucket come from /etc/mlflow/mlflow.env, as the server's do.
"""

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
import uuid

ENV_FILE = "/etc/mlflow/mlflow.env"
CHUNK = 8 * 1024 * 1024
# Single transfers vary by tens of percent on a shared host: each runs three times, the median counts.
REPEAT = 3


def read_env(path):
    """The systemd EnvironmentFile the mlflow role writes: NAME="value" with \\ and \" escaped."""
    values = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, value = line.split("=", 1)
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            values[key] = value
    return values


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def timed(key, label, size, func, results, after=None):
    """A transfer, REPEAT times, reported by the median; `after` (untimed) gets what func returned.

    A failure is a result too, and the other transfers still run."""
    runs = []
    for _run in range(REPEAT):
        start = time.perf_counter()
        try:
            out = func()
        except Exception as exc:  # pylint: disable=broad-exception-caught
            results[key] = {"transfer": label, "error": f"{type(exc).__name__}: {exc}"[:400]}
            print(f"{label:55} FAILED: {results[key]['error']}", file=sys.stderr, flush=True)
            return False
        runs.append(time.perf_counter() - start)
        if after:
            after(out)
    median = statistics.median(runs)
    results[key] = {"transfer": label, "seconds": round(median, 2), "mib_s": round(size / median, 1),
                    "runs_mib_s": [round(size / r, 1) for r in runs]}
    print(f"{label:55} {size / median:8.1f} MiB/s (median of {', '.join(f'{size / r:.1f}' for r in runs)})",
          file=sys.stderr, flush=True)
    return True


def client_transfers(conf, work, source, size, results, check, checks):
    """Upload and download with the official client, as a training job and a deployment would."""
    import mlflow  # pylint: disable=import-outside-toplevel
    from mlflow.environment_variables import MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE  # pylint: disable=import-outside-toplevel
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository  # pylint: disable=import-outside-toplevel

    experiment = mlflow.set_experiment(conf["experiment"])
    with mlflow.start_run() as run:
        repo = get_artifact_repository(run.info.artifact_uri)
        # Below MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE (500 MiB) the client uploads through the
        # tracking server; above it, and with the server's consent, in presigned parts.
        names = {True: "presigned multipart", False: "proxied by the tracking server"}
        way = {"upload": names[bool(repo._should_multipart_upload(source))],  # pylint: disable=protected-access
               "download": names[bool(repo._is_multipart_download_enabled())]}  # pylint: disable=protected-access
        timed("client_upload", f"mlflow client upload ({way['upload']})", size,
              lambda: mlflow.log_artifact(source, "default"), results)
        os.environ[MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE.name] = str(1024 * 1024)
        try:
            timed("client_upload_multipart", "mlflow client upload (presigned multipart, forced)", size,
                  lambda: mlflow.log_artifact(source, "multipart"), results)
        finally:
            del os.environ[MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE.name]
        uploaded = [sub for sub, key in (("default", "client_upload"), ("multipart", "client_upload_multipart"))
                    if "error" not in results[key]]
        if way["download"] == "presigned multipart" and uploaded:
            # Where the presigned URLs point: the published S3 endpoint, not the store's own port.
            try:
                url = repo._get_presigned_download_url(f"{uploaded[0]}/payload.bin").url  # pylint: disable=protected-access
                way["presigned_endpoint"] = urllib.parse.urlsplit(url).netloc
            except Exception as exc:  # pylint: disable=broad-exception-caught
                way["presigned_endpoint"] = f"unknown ({type(exc).__name__})"
        # Both copies come back, so that each upload way is checked end to end.
        for sub in uploaded:
            label = f"mlflow download, {sub} copy"
            if not timed(f"client_download_{sub}", f"mlflow client download ({way['download']}), {sub} copy", size,
                         lambda sub=sub: mlflow.artifacts.download_artifacts(
                             run_id=run.info.run_id, artifact_path=f"{sub}/payload.bin", dst_path=tempfile.mkdtemp(dir=work)),
                         results, lambda path, label=label: check(label, path)):
                checks[label] = False
        try:
            repo.delete_artifacts()
        except Exception as exc:  # pylint: disable=broad-exception-caught
            # Not every artifact repository deletes; the run's removal below still lets gc take them.
            print(f"could not delete the run's artifacts: {exc}", file=sys.stderr)
    # Deleted (soft), so that the demo's gc timer purges them.
    mlflow.delete_run(run.info.run_id)
    mlflow.delete_experiment(experiment.experiment_id)
    return way, mlflow.__version__


def direct_transfers(conf, server_env, work, source, size, results, check):
    """PUT and GET straight to the store, with the server's own credentials and bucket."""
    import boto3  # pylint: disable=import-outside-toplevel

    bucket, prefix = (server_env["_MLFLOW_SERVER_ARTIFACT_DESTINATION"].removeprefix("s3://") + "/").split("/", 1)
    prefix = prefix.rstrip("/")
    s3 = boto3.client("s3", endpoint_url=conf["s3_endpoint"], aws_access_key_id=server_env["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=server_env["AWS_SECRET_ACCESS_KEY"],
                      region_name=server_env.get("AWS_DEFAULT_REGION") or "us-east-1")
    key = f"{prefix}/bench/{uuid.uuid4().hex}/payload.bin".lstrip("/")
    target = os.path.join(work, "direct.bin")

    def put():
        with open(source, "rb") as body:
            s3.put_object(Bucket=bucket, Key=key, Body=body)

    def get():
        with open(target, "wb") as out:
            shutil.copyfileobj(s3.get_object(Bucket=bucket, Key=key)["Body"], out, CHUNK)
        return target

    def download_file():
        s3.download_file(bucket, key, target)
        return target

    try:
        timed("direct_put", "boto3 put_object (one request)", size, put, results)
        timed("direct_get", "boto3 get_object (one request)", size, get, results,
              lambda path: check("direct get_object", path))
        # boto3's managed transfer (parallel parts): the stronger baseline of the two.
        timed("direct_upload_file", "boto3 upload_file (managed, parallel parts)", size,
              lambda: s3.upload_file(source, bucket, key), results)
        timed("direct_download_file", "boto3 download_file (managed, parallel parts)", size, download_file, results,
              lambda path: check("direct download_file", path))
    finally:
        s3.delete_object(Bucket=bucket, Key=key)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config")
    parser.add_argument("--out")
    args = parser.parse_args()
    with open(args.config, encoding="utf-8") as handle:
        conf = json.load(handle)["artifacts"]
    server_env = read_env(ENV_FILE)
    # The client's settings go in before mlflow is imported. REQUESTS_CA_BUNDLE covers the presigned
    # S3 requests too, which ignore MLFLOW_TRACKING_SERVER_CERT_PATH (docs/mlflow-facts.md, 10).
    os.environ.update(MLFLOW_TRACKING_URI=conf["tracking_uri"], MLFLOW_TRACKING_USERNAME=conf["username"],
                      MLFLOW_TRACKING_PASSWORD=conf["password"], REQUESTS_CA_BUNDLE=conf["ca"],
                      GIT_PYTHON_REFRESH="quiet", MLFLOW_HTTP_REQUEST_MAX_RETRIES=str(conf.get("retries", 1)))
    size = conf["size_mib"]
    results, checks = {}, {}
    # On disk, not the container's /tmp (tmpfs): the client reads and writes files, as it would.
    work = tempfile.mkdtemp(prefix="mlflow-bench-", dir="/var/tmp")
    try:
        source = os.path.join(work, "payload.bin")
        with open(source, "wb") as handle:
            left = size * 1024 * 1024
            while left:
                handle.write(os.urandom(min(CHUNK, left)))
                left -= min(CHUNK, left)
        digest = sha256(source)

        def check(label, path):
            checks[label] = checks.get(label, True) and sha256(path) == digest
            os.remove(path)

        # mlflow prints links to the run on stdout, which may carry the results.
        with contextlib.redirect_stdout(sys.stderr):
            way, version = client_transfers(conf, work, source, size, results, check, checks)
        direct_transfers(conf, server_env, work, source, size, results, check)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def rate(key):
        return results.get(key, {}).get("mib_s")

    def ratio(key, *direct):
        # Against the better of the direct ways, so that a ratio is never flattered.
        best = max((rate(d) for d in direct if rate(d)), default=None)
        return round(rate(key) / best, 2) if rate(key) and best else None

    report = {
        "size_mib": size,
        "mlflow_version": version,
        "tracking_uri": conf["tracking_uri"],
        "s3_endpoint": conf["s3_endpoint"],
        # The client's default is 7 retries with backoff, minutes per failed transfer; fewer here.
        "client_retries": int(os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]),
        "paths": way,
        "transfers": results,
        "sha256_ok": checks,
        "ratios": {
            "upload (client defaults) / direct": ratio("client_upload", "direct_put", "direct_upload_file"),
            "upload (presigned multipart, forced) / direct": ratio("client_upload_multipart", "direct_put", "direct_upload_file"),
            "download (client defaults) / direct": ratio("client_download_default", "direct_get", "direct_download_file"),
        },
    }
    text = json.dumps(report, indent=1)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    else:
        print(text)
    return 0 if all(checks.values()) and all("error" not in r for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
