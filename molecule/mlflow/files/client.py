"""Client-side checks, run on the test host with the MLflow venv's Python (the official client).

  log-before-upgrade  log a run and keep its id in /root/run-before-upgrade.json
  get-run RUN_ID      print the run's status and params as JSON
  exercise            experiment, params, tags, 1,000 metrics in one batch, a small and a 50 MiB
                      artifact downloaded back; print ids and checksums as JSON
  two-runs NAME       two runs with an artifact each in a new experiment NAME; delete the second
  list-keys PREFIX    print the bucket's keys under PREFIX, read with the MLflow S3 identity
"""

import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import mlflow
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

mlflow.set_tracking_uri("http://127.0.0.1:5000")
MIB = 1024 * 1024


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(MIB), b""):
            digest.update(block)
    return digest.hexdigest()


def _random_file(directory, name, size):
    path = Path(directory) / name
    with open(path, "wb") as handle:
        for _block in range(size // MIB):
            handle.write(os.urandom(MIB))
        handle.write(os.urandom(size % MIB))
    return path


def log_before_upgrade():
    mlflow.set_experiment("upgrade-check")
    with mlflow.start_run(run_name="before-upgrade") as run:
        mlflow.log_param("logged_with", mlflow.__version__)
        mlflow.log_metric("accuracy", 0.9)
    Path("/root/run-before-upgrade.json").write_text(json.dumps({"run_id": run.info.run_id}))


def get_run(run_id):
    run = MlflowClient().get_run(run_id)
    print(json.dumps({"status": run.info.status, "params": run.data.params, "metrics": run.data.metrics}))


def exercise():
    client = MlflowClient()
    experiment = mlflow.set_experiment("verify")
    with tempfile.TemporaryDirectory() as tmp, mlflow.start_run(run_name="verify") as run:
        mlflow.log_params({"alpha": "0.5", "layers": "3"})
        mlflow.set_tags({"team": "platform", "purpose": "molecule"})
        now = int(time.time() * 1000)
        client.log_batch(run.info.run_id, metrics=[Metric(f"loss_{i % 10}", i / 1000, now, i) for i in range(1000)])
        small = _random_file(tmp, "small.txt", 1000)
        big = _random_file(tmp, "big.bin", 50 * MIB)
        mlflow.log_artifact(str(small))
        mlflow.log_artifact(str(big), artifact_path="data")
        back = Path(tmp) / "back"
        back.mkdir()
        got_small = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="small.txt", dst_path=str(back))
        got_big = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="data/big.bin", dst_path=str(back))
        stored = client.get_run(run.info.run_id)
        print(json.dumps({
            "experiment_id": experiment.experiment_id,
            "run_id": run.info.run_id,
            "artifact_uri": run.info.artifact_uri,
            "params": stored.data.params,
            "tags": {k: v for k, v in stored.data.tags.items() if not k.startswith("mlflow.")},
            "metric_points": sum(len(client.get_metric_history(run.info.run_id, f"loss_{i}")) for i in range(10)),
            "small": [_sha256(small), _sha256(got_small)],
            "big": [_sha256(big), _sha256(got_big)],
        }))


def two_runs(name):
    experiment = mlflow.set_experiment(name)
    ids = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("kept", "deleted"):
            with mlflow.start_run(run_name=name) as run:
                mlflow.log_artifact(str(_random_file(tmp, f"{name}.bin", 100_000)))
                ids.append(run.info.run_id)
    MlflowClient().delete_run(ids[1])
    print(json.dumps({"experiment_id": experiment.experiment_id, "kept": ids[0], "deleted": ids[1]}))


def list_keys(prefix):
    import boto3

    s3 = boto3.client("s3", endpoint_url=os.environ["MLFLOW_S3_ENDPOINT_URL"])
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=os.environ["BUCKET"], Prefix=prefix)
    print(json.dumps({o["Key"]: o["Size"] for page in pages for o in page.get("Contents", [])}))


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    {"log-before-upgrade": log_before_upgrade, "get-run": get_run, "exercise": exercise,
     "two-runs": two_runs, "list-keys": list_keys}[command](*args)
