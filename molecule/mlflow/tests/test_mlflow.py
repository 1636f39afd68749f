"""The tracking server as its users and operators see it, checked with the official MLflow client."""

import json
import os
import subprocess
import sys
import time
import uuid
from urllib.parse import urlsplit

import pytest

PYTHON = "/opt/mlflow/venv/bin/python"


@pytest.fixture(scope="module")
def v(host):
    return host.ansible.get_variables()


def _client(host, *args, env=""):
    """Run a client check; MLflow prints run links after the JSON line, so pick the JSON."""
    out = host.check_output(f"{env} GIT_PYTHON_REFRESH=quiet {PYTHON} /root/client.py {' '.join(args)}")
    return json.loads([line for line in out.splitlines() if line.startswith("{")][-1])


def _keys(host, prefix):
    env = "set -a; . /etc/mlflow/mlflow.env; set +a; BUCKET=mlflow"
    return _client(host, "list-keys", prefix, env=env)


def _get(host, path):
    """Body of a GET to the local server, or "" when it does not answer 200."""
    code = f"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:5000{path}', timeout=5).read().decode())"
    result = host.run(f'python3 -c "{code}"')
    return result.stdout.strip() if result.rc == 0 else ""


def _psql(host, sql):
    return host.check_output(f"runuser -u postgres -- psql -d mlflow -XtAc \"{sql}\"")


def _package_index():
    """Host and port of the index this machine's pip uses: its configuration, else pip's own default."""
    url = os.environ.get("PIP_INDEX_URL") or subprocess.run(
        [sys.executable, "-m", "pip", "config", "get", "global.index-url"], capture_output=True, text=True,
        check=False).stdout.strip()
    if not url:
        from pip._internal.models.index import PyPI  # pylint: disable=import-outside-toplevel

        url = PyPI.simple_url
    parts = urlsplit(url)
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def test_converge_ran_air_gapped(host):
    """prepare cut the host off every network before converge installed MLflow 3.x from the wheelhouse:
    no interface but loopback, and a package index cannot be reached."""
    interfaces = host.check_output("ls /sys/class/net").split()
    assert interfaces == ["lo"], interfaces
    index = _package_index()
    probe = host.run(f"python3 -c \"import socket; socket.create_connection({index!r}, timeout=5)\"")
    assert probe.rc != 0, f"the host reached the package index {index}"


@pytest.fixture(scope="module")
def exercised(host):
    return _client(host, "exercise")


def test_the_upgraded_version_serves(host):
    assert _get(host, "/version") == "3.17.2"
    assert host.file("/opt/mlflow/venv").linked_to == "/opt/mlflow/venv-3.17.2"


def test_the_run_logged_before_the_upgrade_survived(host):
    run_id = json.loads(host.file("/root/run-before-upgrade.json").content_string)["run_id"]
    run = _client(host, "get-run", run_id)
    assert run["status"] == "FINISHED"
    assert run["params"] == {"logged_with": "2.22.5"}
    assert run["metrics"] == {"accuracy": 0.9}


def test_a_dump_was_taken_before_the_upgrade(host):
    dumps = host.check_output("ls /var/backups/mlflow").split()
    upgrade = [d for d in dumps if d.startswith("mlflow-2.22.5-to-3.17.2-") and d.endswith(".dump")]
    assert len(upgrade) == 1, dumps
    dump = host.file(f"/var/backups/mlflow/{upgrade[0]}")
    assert dump.size > 10_000 and dump.mode == 0o600
    assert "runs" in host.check_output(f"pg_restore --list /var/backups/mlflow/{upgrade[0]}")
    assert host.file("/opt/mlflow/venv-2.22.5").is_directory, "the previous venv is kept for a rollback"


def test_client_logs_params_tags_metrics_and_artifacts(exercised):
    assert exercised["params"] == {"alpha": "0.5", "layers": "3"}
    assert exercised["tags"] == {"team": "platform", "purpose": "molecule"}
    assert exercised["metric_points"] == 1000
    assert exercised["small"][0] == exercised["small"][1]
    assert exercised["big"][0] == exercised["big"][1]
    assert exercised["artifact_uri"].startswith("mlflow-artifacts:/")


def test_artifacts_are_in_the_bucket_not_on_local_disk(host, exercised):
    prefix = f"artifacts/{exercised['experiment_id']}/{exercised['run_id']}/artifacts/"
    keys = _keys(host, prefix)
    assert keys == {prefix + "small.txt": 1000, prefix + "data/big.bin": 50 * 1024 * 1024}
    local = host.run("find / -xdev \\( -name big.bin -o -name mlartifacts \\) -not -path '/proc/*' -print")
    assert local.stdout.strip() == ""
    assert host.check_output("find /var/lib/mlflow/spool -type f | wc -l") == "0"


def test_gc_purges_the_deleted_run_and_its_artifacts(host):
    runs = _client(host, "two-runs", f"gc-{uuid.uuid4().hex[:8]}")
    prefix = f"artifacts/{runs['experiment_id']}/"
    assert len(_keys(host, prefix)) == 2
    time.sleep(2)  # mlflow_gc_older_than is 1s in this scenario
    host.run_test("systemctl start mlflow-gc.service")
    assert host.check_output("systemctl show -p Result --value mlflow-gc.service") == "success"
    assert _psql(host, f"SELECT count(*) FROM runs WHERE run_uuid = '{runs['deleted']}'") == "0"
    assert _psql(host, f"SELECT lifecycle_stage FROM runs WHERE run_uuid = '{runs['kept']}'") == "active"
    assert list(_keys(host, prefix)) == [f"{prefix}{runs['kept']}/artifacts/kept.bin"]


def test_gc_timer_follows_the_cron_schedule(host):
    assert host.service("mlflow-gc.timer").is_enabled
    assert host.check_output("systemctl show -p TimersCalendar --value mlflow-gc.timer").startswith("{ OnCalendar=Sun *-*-* 03:30:00")


def test_secrets_stay_out_of_process_lists_and_the_journal(host, v):
    secrets = [v["mlflow_db_password"], v["mlflow_s3_secret_key"]]
    args = host.check_output("ps -eo args")
    journal = host.check_output("journalctl --no-pager -o cat")
    for text in (args, journal):
        assert "postgresql+psycopg2://" not in text
        assert not [s for s in secrets if s in text]
    env = host.file("/etc/mlflow/mlflow.env")
    assert (env.user, env.group, env.mode) == ("root", "mlflow", 0o640)


def test_unit_runs_gunicorn_sandboxed(host):
    props = host.service("mlflow").systemd_properties
    assert props["User"] == "mlflow"
    assert props["ExecStart"].split("argv[]=")[1].split()[0] == "/opt/mlflow/venv/bin/gunicorn"
    exposure = host.check_output("systemd-analyze security mlflow | tail -1")
    assert float(exposure.split("level for")[1].split(":")[1].split()[0]) <= 3.0, exposure
    assert not host.file("/var/lib/mlflow/.gunicorn").exists


def test_service_comes_back_after_the_master_is_killed(host):
    before = host.check_output("systemctl show -p MainPID --value mlflow")
    host.run_test(f"kill -KILL {before}")
    started = time.monotonic()
    after = before
    while time.monotonic() - started < 15 and after in (before, "0"):
        time.sleep(0.5)
        after = host.check_output("systemctl show -p MainPID --value mlflow")
    assert after not in (before, "0"), "no new gunicorn master within 15 s"
    while time.monotonic() - started < 120:
        if _get(host, "/health") == "OK":
            break
        time.sleep(1)
    assert _get(host, "/health") == "OK"
