# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real MLflow servers on 127.0.0.1 for the module integration tests.

Every server of the matrix starts once per session, all at the same time (startup takes about
35 s on 3.x), with a sqlite backend in a temporary directory, and is stopped at the end.

Environment:
  MLFLOW_TEST_SERVERS  space-separated "<version>" or "<version>:auth" entries
                       (default: "3.17.2 3.17.2:auth 2.22.5:auth")
  MLFLOW_VENVS_DIR     where scripts/mlflow-test-venvs.sh keeps the venvs (default: .cache/mlflow-venvs)
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from base64 import b64encode
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENVS = Path(os.environ.get("MLFLOW_VENVS_DIR", REPO / ".cache" / "mlflow-venvs"))
DEFAULT_SERVERS = "3.17.2 3.17.2:auth 2.22.5:auth"
STARTUP_TIMEOUT = 240
ADMIN = "admin"


def server_ids():
    return os.environ.get("MLFLOW_TEST_SERVERS", DEFAULT_SERVERS).split()


def pytest_generate_tests(metafunc):
    """Parametrize (target, server_id) from the test module's TARGETS map and the server matrix."""
    targets = getattr(metafunc.module, "TARGETS", None)
    if targets is None or "server_id" not in metafunc.fixturenames:
        return
    cases = []
    for target, needs_auth in targets.items():
        for server_id in server_ids():
            if needs_auth and not server_id.endswith(":auth"):
                continue
            cases.append(pytest.param(target, server_id, id="%s-%s" % (target, server_id.replace(":", "-"))))
    metafunc.parametrize("target,server_id", cases)


def _version_tuple(version):
    return tuple(int(part) for part in version.split(".")[:2])


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MlflowServer(object):
    """One `mlflow server` process and what the playbooks need to reach it."""

    def __init__(self, server_id, workdir):
        self.id = server_id
        self.version = server_id.split(":")[0]
        self.auth = server_id.endswith(":auth")
        self.workdir = workdir
        self.port = _free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.admin_password = "adm-" + secrets.token_urlsafe(16) if self.auth else None
        self.process = None
        self.log_path = workdir / "server.log"

    def _environment(self):
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith("MLFLOW_"))
        env.update(
            MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false",
            MLFLOW_DISABLE_TELEMETRY="true",
            DO_NOT_TRACK="true",
        )
        if self.auth:
            ini = self.workdir / "basic_auth.ini"
            ini.write_text(
                "[mlflow]\n"
                "default_permission = READ\n"
                "database_uri = sqlite:///%s\n"
                "admin_username = %s\n"
                "admin_password = %s\n"
                "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
                % (self.workdir / "auth.db", ADMIN, self.admin_password)
            )
            env["MLFLOW_AUTH_CONFIG_PATH"] = str(ini)
            env["MLFLOW_FLASK_SERVER_SECRET_KEY"] = secrets.token_hex(16)
            if _version_tuple(self.version) >= (3, 16):
                env["MLFLOW_AUTH_ADMIN_PASSWORD"] = self.admin_password
        return env

    def start(self):
        mlflow = VENVS / self.version / "bin" / "mlflow"
        cmd = [
            str(mlflow), "server",
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
            "--backend-store-uri", "sqlite:///%s" % (self.workdir / "mlflow.db"),
            "--artifacts-destination", str(self.workdir / "artifacts"),
        ]
        if self.auth:
            cmd += ["--app-name", "basic-auth"]
        log = open(self.log_path, "wb")
        # A session of its own, so the whole tree (MLflow 2.x does not forward SIGTERM to
        # gunicorn) can be stopped at the end.
        self.process = subprocess.Popen(cmd, cwd=str(self.workdir), env=self._environment(), stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

    def _get(self, path, auth=False):
        request = urllib.request.Request(self.url + path)
        if auth and self.auth:
            token = b64encode(("%s:%s" % (ADMIN, self.admin_password)).encode()).decode()
            request.add_header("Authorization", "Basic " + token)
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.read().decode()

    def wait_ready(self, deadline):
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("MLflow %s exited with %s:\n%s" % (self.id, self.process.returncode, self.log_tail()))
            try:
                if self._get("/health").strip() == "OK" and self._get("/version", auth=True).strip() == self.version:
                    return
            except (urllib.error.URLError, ConnectionError, socket.timeout):
                pass
            time.sleep(1)
        raise RuntimeError("MLflow %s did not answer /health in %d s:\n%s" % (self.id, STARTUP_TIMEOUT, self.log_tail()))

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # Workers of MLflow 2.x may outlive the CLI process; the group is gone only when they are.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def log_tail(self, lines=40):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def playbook_vars(self):
        variables = {"mlflow_url": self.url, "mlflow_version": self.version, "mlflow_auth": self.auth}
        if self.auth:
            variables.update(mlflow_username=ADMIN, mlflow_password=self.admin_password)
        return variables


def _collections_path():
    """A collection tree where ansible finds this repository as mlops.mlflow."""
    root = REPO / ".cache" / "collections"
    link = root / "ansible_collections" / "mlops" / "mlflow"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO)
    return str(root)


@pytest.fixture(scope="session")
def mlflow_servers(tmp_path_factory):
    ids = server_ids()
    versions = sorted(set(server_id.split(":")[0] for server_id in ids))
    env = dict(os.environ, MLFLOW_TEST_VERSIONS=" ".join(versions), MLFLOW_VENVS_DIR=str(VENVS))
    subprocess.run([str(REPO / "scripts" / "mlflow-test-venvs.sh")], env=env, check=True)
    servers = {}
    try:
        for server_id in ids:
            workdir = tmp_path_factory.mktemp("mlflow-" + server_id.replace(":", "-"))
            servers[server_id] = MlflowServer(server_id, workdir)
            servers[server_id].start()
        deadline = time.time() + STARTUP_TIMEOUT
        for server in servers.values():
            server.wait_ready(deadline)
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture(scope="session")
def run_playbook(tmp_path_factory):
    """Run tests/integration/targets/<target>/main.yml against one server; return its output."""
    bindir = Path(sys.executable).parent
    playbook_bin = bindir / "ansible-playbook"
    if not playbook_bin.exists():
        playbook_bin = Path(shutil.which("ansible-playbook"))
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith("MLFLOW_"))
    env.update(
        ANSIBLE_COLLECTIONS_PATH=_collections_path(),
        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="true",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="false",
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
    )
    vars_dir = tmp_path_factory.mktemp("playbook-vars")

    def run(target, server):
        extra = dict(server.playbook_vars(), ansible_python_interpreter=sys.executable)
        vars_file = vars_dir / ("%s-%s.json" % (target, server.id.replace(":", "-")))
        vars_file.write_text(json.dumps(extra))
        playbook = REPO / "tests" / "integration" / "targets" / target / "main.yml"
        started = time.time()
        result = subprocess.run(
            [str(playbook_bin), str(playbook), "-i", "localhost,", "-c", "local", "-e", "@%s" % vars_file, "-v"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
        )
        output = result.stdout
        print(output)
        print("%s on %s: %.1f s" % (target, server.id, time.time() - started))
        if result.returncode != 0:
            print("--- server log (tail) ---\n" + server.log_tail())
        return result.returncode, output

    return run
