"""End-to-end checks of a deployed MLflow stack with the official client, run on the controller.

The stack is reached only through nginx's published HTTPS port(s), exactly as a user would.

Usage:
    mlflow_e2e.py full    experiment, runs, params/tags/metrics (+1,000 in one batch), text, PNG
                          and 200 MiB artifacts (multipart) round-tripped by sha256, a registered
                          scikit-learn model loaded back by alias, search_runs, and REST checks
    mlflow_e2e.py smoke   one run with a param, a metric and a small artifact; prints the run URL

Environment:
    MLFLOW_TRACKING_URI                 https://host:port (http:// works for local proofs)
    REQUESTS_CA_BUNDLE                  the client bundle of the collection CA (mlflow-ca/client-bundle.pem), as
                                        the README tells users: REST calls and presigned S3 URLs alike
    MLFLOW_TRACKING_USERNAME / _PASSWORD, or MLFLOW_TRACKING_TOKEN
    MLFLOW_E2E_BIG_FILE_MIB             size of the big artifact in `full` (default 200)
    MLFLOW_E2E_REQUIRE_MULTIPART        "true": fail unless the big file went up multipart

The last line on stdout is a JSON summary; progress goes to stderr. The exit status is 0 when
every check passed, 1 on the first failed check (named on stderr), 2 on bad configuration.
Checks raise CheckFailed rather than using `assert`, so `python -O` cannot strip them.
"""

import argparse
import contextlib
import hashlib
import inspect
import json
import os
import re
import struct
import sys
import tempfile
import time
import uuid
import zlib
from pathlib import Path
from urllib.parse import urlsplit

MIB = 1024 * 1024


class CheckFailed(Exception):
    """A check of the deployed stack failed."""


class ConfigError(Exception):
    """The environment does not describe a usable tracking server."""


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


def log(message):
    print(f"[e2e] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- environment


def configure_environment(environ=None):
    """Validate the inputs and set the client-side variables the checks rely on."""
    environ = os.environ if environ is None else environ
    uri = environ.get("MLFLOW_TRACKING_URI", "")
    if not uri.startswith(("https://", "http://")):
        raise ConfigError(f"MLFLOW_TRACKING_URI must be an http(s) URL, got {uri!r}")
    if bool(environ.get("MLFLOW_TRACKING_USERNAME")) != bool(environ.get("MLFLOW_TRACKING_PASSWORD")):
        raise ConfigError("set both MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or neither")
    bundle = environ.get("REQUESTS_CA_BUNDLE")
    if bundle and not Path(bundle).is_file():
        raise ConfigError(f"REQUESTS_CA_BUNDLE {bundle!r} is not a file")
    # A test client has no business phoning home (and CI has no route out anyway).
    environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    return uri.rstrip("/")


def rest_session():
    """A requests session with the same TLS trust and credentials as the MLflow client."""
    import requests

    session = requests.Session()
    # Trust as MLflow's own calls have it: REQUESTS_CA_BUNDLE, read by requests for every call.
    if os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() == "true":
        session.verify = False
    if os.environ.get("MLFLOW_TRACKING_USERNAME"):
        session.auth = (os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"])
    elif os.environ.get("MLFLOW_TRACKING_TOKEN"):
        session.headers["Authorization"] = f"Bearer {os.environ['MLFLOW_TRACKING_TOKEN']}"
    return session


# --------------------------------------------------------------------------- helpers


class Recorder:
    """Collects per-step timings and remembers which step is running for the failure message."""

    def __init__(self):
        self.timings = {}
        self.current = None
        self.started = time.monotonic()

    @contextlib.contextmanager
    def step(self, name):
        self.current = name
        log(f"{name} ...")
        start = time.monotonic()
        yield  # on an exception self.current keeps naming the failed step for main()
        self.timings[name] = round(time.monotonic() - start, 3)
        log(f"{name} ok in {self.timings[name]:.2f} s")
        self.current = None

    def total(self):
        return round(time.monotonic() - self.started, 3)


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(MIB), b""):
            digest.update(block)
    return digest.hexdigest()


def write_random(path, size):
    with open(path, "wb") as handle:
        handle.writelines(os.urandom(MIB) for _block in range(size // MIB))
        handle.write(os.urandom(size % MIB))
    return path


def _png_by_hand(path):
    """A valid 64x64 RGB gradient PNG from zlib and struct only (no imaging library)."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    width = height = 64
    rows = b"".join(
        b"\x00" + bytes(v for x in range(width) for v in (x * 4, y * 4, 128)) for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    Path(path).write_bytes(png)


def write_png(path):
    """A real plot when matplotlib is there, a hand-made PNG otherwise; returns how it was made."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display on the controller
        import matplotlib.pyplot as plt
    except ImportError:
        _png_by_hand(path)
        return "zlib"
    figure, axes = plt.subplots(figsize=(3, 2), dpi=80)
    axes.plot([0, 1, 2, 3], [0.3, 0.9, 0.6, 0.8])
    axes.set_title("e2e")
    figure.savefig(path, format="png")
    plt.close(figure)
    return "matplotlib"


class MultipartProbe:
    """Counts multipart uploads that completed, by wrapping the client's own method.

    MLflow silently falls back to a proxied PUT when the server cannot do multipart (for example a
    local artifact destination), so without this the summary could not say which path was taken.
    """

    def __init__(self):
        from mlflow.store.artifact.http_artifact_repo import HttpArtifactRepository

        self.completed = 0
        original = HttpArtifactRepository._try_multipart_upload
        probe = self

        def counted(repo, *args, **kwargs):
            result = original(repo, *args, **kwargs)
            probe.completed += 1  # only reached when no exception (incl. fallback) was raised
            return result

        HttpArtifactRepository._try_multipart_upload = counted


def server_info(session, uri):
    """GET /api/3.0/mlflow/server-info (3.10+); None when the server predates it."""
    response = session.get(f"{uri}/api/3.0/mlflow/server-info", timeout=30, verify=session.verify)
    if response.status_code != 200:
        return None
    try:
        return response.json()
    except ValueError:  # e.g. an HTML page from a proxy; the later checks will say more
        return None


def _redact(text):
    """Drop query strings (presigned signatures) from messages that quote URLs."""
    return re.sub(r"\?[^\s'\"]*", "?...", str(text))


def probe_presigned(session, uri, artifact_uri, path, content):
    """Fetch the first bytes of one artifact through the presigned URL MLflow hands out.

    Only called when /server-info says presigned downloads are on. MLflow retries a failing
    presigned download for minutes (TLS not trusted, host not reachable) before giving up; this
    probe fails within seconds and names the S3 endpoint the URLs point at.
    """
    import requests

    location = urlsplit(artifact_uri).path.strip("/")  # "<experiment>/<run>/artifacts"
    body = rest_json(session, "GET", f"{uri}/api/2.0/mlflow-artifacts/presigned/{location}/{path}")
    target = urlsplit(body["url"])
    endpoint = f"{target.scheme}://{target.netloc}"
    headers = {**(body.get("headers") or {}), "Range": "bytes=0-15"}
    try:
        # Plain requests with verify=True, like MLflow: trust comes from REQUESTS_CA_BUNDLE.
        response = requests.get(body["url"], headers=headers, timeout=15)
    except requests.RequestException as error:
        raise CheckFailed(
            f"presigned S3 URL at {endpoint} is not usable from this client: {_redact(error)}. "
            "MLflow signs URLs for its MLFLOW_S3_ENDPOINT_URL; that endpoint must be published "
            "and signed by a CA in REQUESTS_CA_BUNDLE (the collection's client-bundle.pem)"
        ) from error
    check(response.status_code in (200, 206), f"presigned GET at {endpoint} answered {response.status_code}")
    check(content.startswith(response.content[:16]), f"presigned GET at {endpoint} returned other bytes")
    return endpoint


def unique_name(prefix):
    return f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


def run_url(uri, experiment_id, run_id):
    return f"{uri}/#/experiments/{experiment_id}/runs/{run_id}"


def rest_json(session, method, url, **kwargs):
    """One REST call that must answer 200 with a JSON body; the error names what came back."""
    response = session.request(method, url, timeout=60, verify=session.verify, **kwargs)
    check(
        response.status_code == 200,
        f"{method} {url.split('/api/', 1)[-1]} answered {response.status_code}: {response.text[:300]}",
    )
    try:
        return response.json()
    except ValueError as error:
        raise CheckFailed(f"{method} {url} did not return JSON: {response.text[:300]}") from error


def roundtrip(run_id, artifact_path, local_file, dst_dir):
    """Download one logged artifact back and return (sha256, size) of the copy."""
    import mlflow

    remote = f"{artifact_path}/{Path(local_file).name}" if artifact_path else Path(local_file).name
    copy = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=remote, dst_path=str(dst_dir))
    return sha256(copy), Path(copy).stat().st_size


# --------------------------------------------------------------------------- smoke


def smoke(uri, rec, summary):
    import mlflow

    session = rest_session()
    with rec.step("server_info"):
        info = server_info(session, uri) or {}
    with rec.step("experiment"):
        experiment = mlflow.set_experiment(unique_name("e2e-smoke"))
        summary["experiment_id"] = experiment.experiment_id
    with tempfile.TemporaryDirectory(prefix="mlflow-e2e-") as tmp:
        note = Path(tmp) / "hello.txt"
        note.write_text(f"hello from {unique_name('smoke')}\n")
        with rec.step("run"), mlflow.start_run(run_name="smoke") as run:
            mlflow.log_param("mode", "smoke")
            mlflow.log_metric("ok", 1.0)
            mlflow.log_artifact(str(note))
        run_id = run.info.run_id
        summary["run_id"] = run_id
        if info.get("multipart_downloads_enabled"):
            with rec.step("presigned_probe"):
                summary["presigned_endpoint"] = probe_presigned(
                    session, uri, run.info.artifact_uri, note.name, note.read_bytes()
                )
        with rec.step("read_back"):
            got = mlflow.MlflowClient().get_run(run_id)
            check(got.data.params.get("mode") == "smoke", f"param not read back: {got.data.params}")
            check(got.data.metrics.get("ok") == 1.0, f"metric not read back: {got.data.metrics}")
            digest = roundtrip(run_id, None, note, Path(tmp) / "dl")[0]
            check(digest == sha256(note), "hello.txt came back with a different sha256")
    summary["run_url"] = run_url(uri, experiment.experiment_id, run_id)
    log(f"run: {summary['run_url']}")


# --------------------------------------------------------------------------- full


def log_model_kwargs(log_model, artifact_name):
    """`name=` replaced `artifact_path=` in MLflow 3.0; use whichever the installed client takes."""
    if "name" in inspect.signature(log_model).parameters:
        return {"name": artifact_name}
    return {"artifact_path": artifact_name}


def full(uri, rec, summary, big_mib=200, require_multipart=False):
    import mlflow
    import mlflow.sklearn
    import numpy as np
    from mlflow.entities import Metric
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    # Force multipart for files from 50 MiB in 20 MiB parts; the default threshold is 500 MiB.
    os.environ["MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD"] = "true"
    os.environ.setdefault("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", str(50 * MIB))
    os.environ.setdefault("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(20 * MIB))

    client = mlflow.MlflowClient()
    session = rest_session()
    probe = MultipartProbe()
    tag = unique_name("e2e")
    with rec.step("server_info"):
        info = server_info(session, uri)
        summary["server_info"] = info

    with rec.step("experiment"):
        experiment = mlflow.set_experiment(tag)
        experiment_id = experiment.experiment_id
        check(experiment.name == tag, f"set_experiment returned {experiment.name!r}")
        summary["experiment_id"] = experiment_id

    tmp_dir = tempfile.TemporaryDirectory(prefix="mlflow-e2e-")
    tmp = Path(tmp_dir.name)
    with tmp_dir, mlflow.start_run(run_name="e2e-main") as run:
        run_id = run.info.run_id
        summary["run_id"] = run_id
        params = {"learning_rate": "0.01", "optimizer": "adam", "layers": "3"}

        with rec.step("log_params_tags_metrics"):
            mlflow.log_params(params)
            mlflow.set_tags({"suite": "e2e", "e2e.id": tag})
            for step in range(5):
                mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
            now = int(time.time() * 1000)
            batch = [Metric(f"batch_{i:04d}", float(i), now, i % 10) for i in range(1000)]
            client.log_batch(run_id, metrics=batch)

        with rec.step("read_back_run"):
            got = client.get_run(run_id)
            check(got.data.params == params, f"params read back as {got.data.params}")
            check(got.data.tags.get("e2e.id") == tag, "tag e2e.id not read back")
            batch_keys = [key for key in got.data.metrics if key.startswith("batch_")]
            check(len(batch_keys) == 1000, f"{len(batch_keys)} of 1000 batch metrics read back")
            check(got.data.metrics["batch_0999"] == 999.0, "batch_0999 has the wrong value")
            history = client.get_metric_history(run_id, "loss")
            steps = sorted((m.step, m.value) for m in history)
            check(steps == [(s, 1.0 / (s + 1)) for s in range(5)], f"loss history is {steps}")

        # Three artifacts of different kinds; the big one crosses the multipart threshold.
        text = tmp / "notes.txt"
        text.write_text(f"end-to-end check {tag}\n" * 100)
        png = tmp / "plot.png"
        summary["png_made_with"] = write_png(png)
        big = write_random(tmp / "big.bin", big_mib * MIB)
        files = {"text": (text, "docs"), "png": (png, "plots"), "big": (big, "data")}
        summary["sizes"] = {kind: entry[0].stat().st_size for kind, entry in files.items()}

        with rec.step("upload_small"):
            mlflow.log_artifact(str(text), "docs")
            mlflow.log_artifact(str(png), "plots")
        if (info or {}).get("multipart_downloads_enabled"):
            with rec.step("presigned_probe"):
                summary["presigned_endpoint"] = probe_presigned(
                    session, uri, run.info.artifact_uri, "docs/notes.txt", text.read_bytes()
                )
        with rec.step("upload_big"):
            mlflow.log_artifact(str(big), "data")
        summary["big_upload_multipart"] = probe.completed > 0
        if require_multipart:
            check(probe.completed > 0, "the big artifact did not go up as a multipart upload")

        with rec.step("list_artifacts"):
            listed = {a.path: a.file_size for a in client.list_artifacts(run_id, "data")}
            check(listed.get("data/big.bin") == big.stat().st_size, f"data/ lists {listed}")

        with rec.step("download_small"):
            for kind in ("text", "png"):
                path, folder = files[kind]
                digest = roundtrip(run_id, folder, path, tmp / "dl")[0]
                check(digest == sha256(path), f"{kind} artifact came back with a different sha256")
            check((tmp / "dl" / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "plot.png is no PNG")
        with rec.step("download_big"):
            digest, size = roundtrip(run_id, "data", big, tmp / "dl")
            check(size == big.stat().st_size, f"big.bin came back with {size} bytes")
            check(digest == sha256(big), "big.bin came back with a different sha256")
        summary["sha256_big"] = digest

    # The model gets a run of its own: MLflow 3's log_model links the run's metrics to the new
    # LoggedModel with one get_metric_history call per metric, i.e. 1,000+ requests in the main run.
    with rec.step("model_log_register"), mlflow.start_run(run_name="e2e-model") as model_run:
        features, labels = load_iris(return_X_y=True)
        model = LogisticRegression(max_iter=500).fit(features, labels)
        mlflow.log_metric("accuracy", float(model.score(features, labels)))
        model_name = tag
        info_model = mlflow.sklearn.log_model(
            model,
            registered_model_name=model_name,
            input_example=features[:3],
            # Skips requirement inference, which reloads the model in a subprocess.
            pip_requirements=["scikit-learn"],
            **log_model_kwargs(mlflow.sklearn.log_model, "model"),
        )
        version = str(info_model.registered_model_version)
        check(version == "1", f"first version of a new model is {version!r}")
        client.set_registered_model_alias(model_name, "champion", version)
    model_run_id = model_run.info.run_id
    summary["model"] = {
        "name": model_name,
        "version": version,
        "run_id": model_run_id,
        "uri": info_model.model_uri,
    }

    with rec.step("model_load_predict"):
        loaded = mlflow.pyfunc.load_model(f"models:/{model_name}@champion")
        expected = model.predict(features)
        predicted = np.asarray(loaded.predict(features))
        check(
            predicted.shape == expected.shape and bool((predicted == expected).all()),
            "the model loaded by alias predicts differently from the in-memory model",
        )

    with rec.step("search_runs"):
        scored = {}
        for score in (0.3, 0.9, 0.6):
            with mlflow.start_run(run_name=f"score-{score}") as scored_run:
                mlflow.log_metric("score", score)
            scored[score] = scored_run.info.run_id
        found = mlflow.search_runs(
            experiment_ids=[experiment_id],
            filter_string="metrics.score > 0.5",
            order_by=["metrics.score DESC"],
        )
        found_ids = list(found["run_id"])
        check(
            found_ids == [scored[0.9], scored[0.6]],
            f"search_runs returned {found_ids}, expected the 0.9 run then the 0.6 run",
        )
        summary["search_run_ids"] = found_ids

    with rec.step("rest"):
        api = f"{uri}/api/2.0/mlflow"
        body = rest_json(session, "GET", f"{api}/runs/get", params={"run_id": run_id})
        check(body["run"]["info"]["run_id"] == run_id, "runs/get returned another run")
        rest_params = {p["key"]: p["value"] for p in body["run"]["data"].get("params", [])}
        check(rest_params == params, f"runs/get params are {rest_params}")

        body = rest_json(
            session,
            "POST",
            f"{api}/runs/search",
            json={
                "experiment_ids": [experiment_id],
                "filter": "metrics.score > 0.5",
                "order_by": ["metrics.score DESC"],
                "max_results": 100,
            },
        )
        rest_ids = [r["info"]["run_id"] for r in body.get("runs", [])]
        check(rest_ids == [scored[0.9], scored[0.6]], f"runs/search returned {rest_ids}")

        body = rest_json(session, "GET", f"{api}/registered-models/get", params={"name": model_name})
        registered = body["registered_model"]
        check(registered["name"] == model_name, f"registered-models/get returned {registered['name']!r}")
        aliases = registered.get("aliases", [])
        check(
            {"alias": "champion", "version": version} in aliases,
            f"registered model aliases are {aliases}",
        )

        body = rest_json(
            session,
            "GET",
            f"{api}/model-versions/get",
            params={"name": model_name, "version": version},
        )
        model_version = body["model_version"]
        check(model_version["name"] == model_name, "model-versions/get returned another model")
        check(model_version["version"] == version, f"model-versions/get version {model_version['version']!r}")
        check(
            model_version["run_id"] == model_run_id, f"model version run_id {model_version.get('run_id')!r}"
        )
        check(model_version.get("status") == "READY", f"model version status {model_version.get('status')!r}")
        check(
            "champion" in model_version.get("aliases", []), f"version aliases {model_version.get('aliases')}"
        )

    summary["run_url"] = run_url(uri, experiment_id, run_id)


# --------------------------------------------------------------------------- entry point


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("mode", choices=("full", "smoke"))
    args = parser.parse_args(argv)
    try:
        uri = configure_environment()
        big_mib = int(os.environ.get("MLFLOW_E2E_BIG_FILE_MIB", "200"))
    except (ConfigError, ValueError) as error:
        print(f"E2E CONFIG ERROR: {error}", file=sys.stderr)
        return 2

    # Imported after configure_environment so every client piece sees the final environment.
    import mlflow

    mlflow.set_tracking_uri(uri)
    rec = Recorder()
    summary = {"mode": args.mode, "tracking_uri": uri, "client_version": mlflow.__version__}
    try:
        if args.mode == "smoke":
            smoke(uri, rec, summary)
        else:
            require = os.environ.get("MLFLOW_E2E_REQUIRE_MULTIPART", "").lower() == "true"
            full(uri, rec, summary, big_mib=big_mib, require_multipart=require)
    except Exception as error:  # noqa: BLE001 - failed checks and client errors are reported alike
        kind = "CHECK FAILED" if isinstance(error, CheckFailed) else f"ERROR ({type(error).__name__})"
        step = rec.current or "setup"
        message = _redact(error)  # client errors can quote presigned URLs with their signatures
        print(f"E2E {kind} in step {step!r}: {message}", file=sys.stderr)
        summary.update(ok=False, failed_step=step, error=f"{kind}: {message[:500]}")
        summary.update(timings_s=rec.timings, total_s=rec.total())
        print(json.dumps(summary))
        return 1
    summary.update(ok=True, timings_s=rec.timings, total_s=rec.total())
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
