# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The minio role's environment file and systemd unit for one drive, several drives and a multi-node pool.

The templates are rendered with the role's defaults and vars and the collection's filters, as the
template module renders them, then read back with the collection's environment file parser (plugins/module_utils) and
checked with the controller's systemd-analyze.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]

SECRETS = {
    # Quotes, backslashes and a dollar sign must survive the environment file unchanged.
    "minio_root_password": "root-pa\"ss\\word-$HOME-'x'",
    "mlflow_s3_secret_key": "mlflow-secret-0123456789",
    "minio_binary_sha256": "0123456789abcdef" * 4,
    "inventory_hostname": "minio1.example.net",
}

LAYOUTS = {
    "one-drive": ("/var/lib/minio/data", "/var/lib/minio/data", ["/var/lib/minio/data"], False),
    "drive-list": (["/srv/minio/disk1", "/srv/minio/disk2"], "/srv/minio/disk1 /srv/minio/disk2",
                   ["/srv/minio/disk1", "/srv/minio/disk2"], False),
    "drive-range": ("/srv/minio/disk{1...4}", "/srv/minio/disk{1...4}",
                    ["/srv/minio/disk1", "/srv/minio/disk2", "/srv/minio/disk3", "/srv/minio/disk4"], False),
    "multi-node": ("https://minio{1...4}.example.net:9000/mnt/disk{1...4}/minio",
                   "https://minio{1...4}.example.net:9000/mnt/disk{1...4}/minio",
                   ["/mnt/disk1/minio", "/mnt/disk2/minio", "/mnt/disk3/minio", "/mnt/disk4/minio"], True),
}


def _env(minio_role, minio_admin, tmp_path, **variables):
    path = tmp_path / "minio.env"
    path.write_text(minio_role.render("minio.env.j2", **dict(SECRETS, **variables)))
    return path, minio_admin.read_env_file(path)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_environment_file(minio_role, minio_admin, tmp_path, layout):
    volumes, expected, _paths, _distributed = LAYOUTS[layout]
    path, env = _env(minio_role, minio_admin, tmp_path, minio_volumes=volumes)
    assert path.read_text().startswith("#\n# Ansible managed\n#\n")
    assert env["MINIO_VOLUMES"] == expected
    assert env["MINIO_ROOT_USER"] == "admin"
    assert env["MINIO_ROOT_PASSWORD"] == SECRETS["minio_root_password"]
    assert shlex.split(env["MINIO_OPTS"]) == [
        "--address", ":9000", "--console-address", "127.0.0.1:9001", "--certs-dir", "/etc/minio/certs"]
    assert env["MINIO_BROWSER"] == "on"
    assert env["MINIO_PROMETHEUS_AUTH_TYPE"] == "jwt"
    assert env["MINIO_UPDATE"] == "off"
    assert "mlflow-secret" not in path.read_text(), "the MLflow user's secret is for the admin helper, not the server"


def test_environment_file_options(minio_role, minio_admin, tmp_path):
    _path, env = _env(minio_role, minio_admin, tmp_path, minio_api_bind_ip="::", minio_api_port=9100,
                      minio_console_enabled=False, minio_extra_args=["--ftp", "address=:8021"],
                      minio_prometheus_auth_type="public", minio_extra_env={"MINIO_API_REQUESTS_MAX": 1600, "MINIO_UPDATE": "on"})
    assert env["MINIO_OPTS"] == "--address [::]:9100 --certs-dir /etc/minio/certs --ftp address=:8021"
    assert env["MINIO_BROWSER"] == "off"
    assert env["MINIO_PROMETHEUS_AUTH_TYPE"] == "public"
    assert env["MINIO_API_REQUESTS_MAX"] == "1600"
    assert env["MINIO_UPDATE"] == "on", "minio_extra_env overrides the role's values"


def test_the_admin_helper_reaches_the_server_the_environment_file_describes(minio_role, minio_admin, tmp_path):
    path, _env_values = _env(minio_role, minio_admin, tmp_path, minio_api_bind_ip="10.0.0.5", minio_api_port=9100,
                             minio_config_dir=str(tmp_path / "etc"))
    server = minio_admin.Server(path)
    assert (server.endpoint, server.secure) == ("10.0.0.5:9100", False)
    assert (server.access_key, server.secret_key) == ("admin", SECRETS["minio_root_password"])


def _unit_lines(text, key):
    return [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(key + "=")]


def _sandbox(minio_role, sandbox, **variables):
    include = sandbox.include_vars("minio", "configure.yml", "minio.service")
    return sandbox.render(minio_role, include, **dict(SECRETS, **variables))


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_unit(minio_role, sandbox, layout):
    volumes, _expected, paths, distributed = LAYOUTS[layout]
    unit = minio_role.render("minio.service.j2", **dict(SECRETS, minio_volumes=volumes))
    assert _unit_lines(unit, "ExecStart") == ["/opt/minio/bin/minio server $MINIO_OPTS $MINIO_VOLUMES"]
    assert _unit_lines(unit, "EnvironmentFile") == ["/etc/default/minio"]
    assert _unit_lines(unit, "User") == ["minio"]
    assert _unit_lines(unit, "LimitNOFILE") == ["1048576"]
    assert _unit_lines(unit, "ProtectSystem") == [], "the sandbox is the collection's drop-in, not in the unit"
    dropin = _sandbox(minio_role, sandbox, minio_volumes=volumes)
    assert dropin.startswith("#\n# Ansible managed\n#\n")
    # The home first: MinIO creates ~/.minio at start.
    assert _unit_lines(dropin, "ReadWritePaths") == ["/var/lib/minio"] + [("-" if distributed else "") + p for p in paths]
    for key, value in {"ProtectSystem": "strict", "NoNewPrivileges": "yes", "CapabilityBoundingSet": "",
                       "PrivateTmp": "yes", "PrivateDevices": "yes", "ProtectHome": "yes", "PrivateUsers": "no",
                       "RestrictSUIDSGID": "yes", "MemoryDenyWriteExecute": "yes", "SystemCallErrorNumber": "EPERM",
                       "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX AF_NETLINK", "ProtectProc": "invisible"}.items():
        assert _unit_lines(dropin, key) == [value], key
    assert _unit_lines(dropin, "ProcSubset") == [], "MinIO reads /proc/meminfo"
    assert _unit_lines(dropin, "SystemCallFilter") == ["@system-service", "~@privileged"]


SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


def _write_unit(minio_role, sandbox, tmp_path, env_path, volumes, dropin_edit=None):
    unit = minio_role.render("minio.service.j2", **dict(SECRETS, minio_volumes=volumes))
    assert unit.count("/opt/minio/bin/minio") == 2  # AssertFileIsExecutable and ExecStart
    unit = unit.replace("/opt/minio/bin/minio", "/bin/true").replace("/etc/default/minio", str(env_path))
    path = tmp_path / "minio.service"
    path.write_text(unit)
    dropin = _sandbox(minio_role, sandbox, minio_volumes=volumes)
    (tmp_path / "minio.service.d").mkdir()
    (tmp_path / "minio.service.d" / "sandbox.conf").write_text(dropin_edit(dropin) if dropin_edit else dropin)
    return path


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed on this machine")
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_unit_passes_systemd_analyze_verify(minio_role, minio_admin, sandbox, tmp_path, layout):
    """systemd-analyze verify checks that ExecStart's binary is executable, and no MinIO binary exists on
    this machine: the rendered unit's binary path (/opt/minio/bin/minio) is replaced by /bin/true, and its
    EnvironmentFile by the rendered environment file, before the check. The sandbox drop-in is read from
    the unit's drop-in directory, as on a host. Warnings such as unknown keys count as failures."""
    volumes = LAYOUTS[layout][0]
    env_path, _env_values = _env(minio_role, minio_admin, tmp_path, minio_volumes=volumes)
    path = _write_unit(minio_role, sandbox, tmp_path, env_path, volumes)
    result = subprocess.run([SYSTEMD_ANALYZE, "verify", "--man=no", str(path)], capture_output=True, text=True, check=False)
    assert (result.returncode, result.stderr.strip()) == (0, "")


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed on this machine")
def test_systemd_analyze_verify_catches_a_broken_sandbox(minio_role, minio_admin, sandbox, tmp_path):
    """Control for the test above: the same check fails on a drop-in with a misspelt directive, which
    shows that verify reads the drop-in."""
    env_path, _env_values = _env(minio_role, minio_admin, tmp_path)
    path = _write_unit(minio_role, sandbox, tmp_path, env_path, LAYOUTS["one-drive"][0],
                       lambda text: re.sub(r"^ProtectSystem=", "ProtectSistem=", text, flags=re.M))
    result = subprocess.run([SYSTEMD_ANALYZE, "verify", "--man=no", str(path)], capture_output=True, text=True, check=False)
    assert "Unknown key" in result.stderr


def test_bucket_policy_confines_the_mlflow_user_to_its_bucket(minio_role):
    policy = minio_role.value("__minio_bucket_policy", **dict(SECRETS, mlflow_s3_bucket="artifacts"))
    statements = policy["Statement"]
    assert {r for s in statements for r in s["Resource"]} == {"arn:aws:s3:::artifacts", "arn:aws:s3:::artifacts/*"}
    actions = {a for s in statements for a in s["Action"]}
    assert all(s["Effect"] == "Allow" for s in statements)
    assert actions == {"s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:GetBucketLocation", "s3:GetObject",
                       "s3:PutObject", "s3:DeleteObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"}


def test_bucket_task_gives_the_module_the_mlflow_user_and_its_secret():
    task = yaml.safe_load((REPO / "roles" / "minio" / "tasks" / "bucket.yml").read_text())[0]
    args = task["mlops.mlflow.minio_bucket"]
    assert args["bucket"] == "{{ mlflow_s3_bucket }}"
    assert args["policy"] == "{{ __minio_bucket_policy }}"
    assert (args["access_key"], args["secret_key"]) == ("{{ mlflow_s3_access_key }}", "{{ mlflow_s3_secret_key }}")
    assert task["vars"]["ansible_python_interpreter"] == "{{ __minio_admin_python }}"
