"""Who may do what on a stack running MLflow's own auth app, seen with the official client.

Each check acts as one user through the public URL (prefix included) and records the HTTP status
the server answered, 200 meaning the client call succeeded. The caller decides what each status
must be; this script only observes, so a server that lets everything through shows up as a
column of 200s.

Environment:
    MLFLOW_TRACKING_URI                 https://host:port/prefix
    REQUESTS_CA_BUNDLE                  the collection's client bundle (mlflow-ca/client-bundle.pem)
    E2E_ADMIN, E2E_READER, E2E_EDITOR   "user:password" of the admin, of a user holding READ on
                                        E2E_EXPERIMENT, and of one holding EDIT on it
    E2E_EXPERIMENT                      the experiment the grants name
    E2E_PUBLIC_ORIGIN                   the origin browsers send, e.g. https://mlflow.example.com
    E2E_ALIAS_HOST                      another public name of the proxy (a Host MLflow must accept)

The last line on stdout is JSON: {"version": ..., "status": {check: code}, "details": {...}}.
"""

import json
import os
import re
import sys
import tempfile
import uuid
from contextlib import contextmanager

import requests
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient


def credentials(name):
    user, _sep, password = os.environ[name].partition(":")
    return user, password


@contextmanager
def acting_as(user, password):
    """The client reads MLFLOW_TRACKING_USERNAME/PASSWORD on every request."""
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")}
    os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"] = user, password
    try:
        yield MlflowClient()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def status_of(call):
    """200 when the client call succeeds, else the HTTP status the server answered."""
    try:
        call()
        return 200
    except MlflowException as error:
        found = re.search(r"error code (\d{3})", str(error))
        return int(found.group(1)) if found else error.get_http_status_code()


def main():
    uri = os.environ["MLFLOW_TRACKING_URI"].rstrip("/")
    admin, reader, editor = (credentials(n) for n in ("E2E_ADMIN", "E2E_READER", "E2E_EDITOR"))
    shared = os.environ["E2E_EXPERIMENT"]
    origin = os.environ["E2E_PUBLIC_ORIGIN"]
    status, details = {}, {}

    # Trust from REQUESTS_CA_BUNDLE, as for MLflow's own calls.
    session = requests.Session()
    details["version"] = session.get(f"{uri}/version", auth=admin, timeout=30).text.strip()
    status["health_without_credentials"] = session.get(f"{uri}/health", timeout=30).status_code
    anonymous = session.get(f"{uri}/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": shared}, timeout=30)
    status["api_without_credentials"] = anonymous.status_code
    details["api_without_credentials_challenge"] = anonymous.headers.get("WWW-Authenticate", "")
    ui = session.get(f"{uri}/", auth=admin, timeout=30)
    status["ui_page_as_admin"] = ui.status_code
    details["ui_page_is_html"] = "<html" in ui.text.lower()

    with acting_as(*admin) as client:
        private = client.create_experiment(f"admin-only-{uuid.uuid4().hex[:8]}")
        status["admin_creates_experiment"] = 200
        shared_id = client.get_experiment_by_name(shared).experiment_id

    with acting_as(*reader) as client:
        status["reader_reads_shared"] = status_of(lambda: client.get_experiment(shared_id))
        status["reader_logs_to_shared"] = status_of(lambda: client.create_run(shared_id))

    with acting_as(*editor) as client:
        run = client.create_run(shared_id)
        status["editor_logs_to_shared"] = 200
        client.log_param(run.info.run_id, "alpha", "0.5")
        client.log_metric(run.info.run_id, "rmse", 0.25)
        client.log_text(run.info.run_id, "proxied through the prefix", "notes/readme.txt")
        client.set_terminated(run.info.run_id)
        status["editor_reads_private"] = status_of(lambda: client.get_experiment(private))

    with acting_as(*reader) as client:
        status["reader_reads_run"] = status_of(lambda: client.get_run(run.info.run_id))
        details["reader_sees_metric"] = client.get_run(run.info.run_id).data.metrics.get("rmse")
        with tempfile.TemporaryDirectory() as directory:
            path = client.download_artifacts(run.info.run_id, "notes/readme.txt", directory)
            with open(path) as handle:
                details["reader_reads_artifact"] = handle.read()

    with acting_as("mallory", "no-such-user-password") as client:
        status["unknown_user"] = status_of(lambda: client.get_experiment(shared_id))
    with acting_as(reader[0], reader[1] + "-wrong") as client:
        status["wrong_password"] = status_of(lambda: client.get_experiment(shared_id))

    # What the web UI does when someone creates an experiment: a POST carrying the page's Origin.
    create = f"{uri}/ajax-api/2.0/mlflow/experiments/create"
    body = {"name": f"from-the-ui-{uuid.uuid4().hex[:8]}"}
    status["ui_create_with_public_origin"] = session.post(create, json=body, auth=admin, headers={"Origin": origin}, timeout=30).status_code
    body = {"name": f"from-elsewhere-{uuid.uuid4().hex[:8]}"}
    foreign_origin = session.post(create, json=body, auth=admin, headers={"Origin": "https://evil.example"}, timeout=30)
    status["ui_create_with_foreign_origin"] = foreign_origin.status_code
    details["foreign_origin_answer"] = foreign_origin.text[:200]

    # A Host header naming some other site, as in DNS rebinding: TLS still goes to the proxy.
    foreign_host = session.get(f"{uri}/api/2.0/mlflow/experiments/search", params={"max_results": 1}, auth=admin,
                               headers={"Host": "evil.example"}, timeout=30)
    status["foreign_host"] = foreign_host.status_code
    details["foreign_host_answer"] = foreign_host.text[:200]
    alias = os.environ["E2E_ALIAS_HOST"]
    status["alias_host"] = session.get(f"{uri}/api/2.0/mlflow/experiments/search", params={"max_results": 1}, auth=admin,
                                       headers={"Host": alias}, timeout=30).status_code

    print(json.dumps({"version": details["version"], "status": status, "details": details}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
