# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""minio_bucket's flow with the MinIO server replaced: read, plan, diff, stop in check mode, apply."""

from __future__ import annotations

import json
from unittest import mock

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.mlops.mlflow.plugins.modules import minio_bucket

SECRET = "mlflow-secret-0123456789"
POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::mlflow/*"]}]}
ARGS = {"env_file": "/etc/default/minio", "bucket": "mlflow", "policy_name": "mlflow-bucket", "policy": POLICY,
        "access_key": "mlflow", "secret_key": SECRET}
EMPTY = {"bucket_exists": False, "policy": None, "user": None}
IN_PLACE = {"bucket_exists": True, "policy": POLICY,
            "user": {"status": "enabled", "policies": ["mlflow-bucket"], "secret_key": "accepted"}}


class _Exit(Exception):
    def __init__(self, result):
        super(_Exit, self).__init__(result)
        self.result = result


def _exit_json(self, **result):
    raise _Exit(dict(result, failed=False))


def _fail_json(self, msg, **result):
    raise _Exit(dict(result, msg=msg, failed=True))


def _run(state, check_mode=False, has_minio=True):
    applied = []
    args = dict(ARGS, _ansible_check_mode=check_mode, _ansible_diff=True)
    with patch_module_args(args), \
            mock.patch.object(basic.AnsibleModule, "exit_json", _exit_json), \
            mock.patch.object(basic.AnsibleModule, "fail_json", _fail_json), \
            mock.patch.object(minio_bucket, "HAS_MINIO", has_minio), \
            mock.patch.object(minio_bucket, "Server", lambda env_file, name: "server"), \
            mock.patch.object(minio_bucket, "read_state", lambda *a: json.loads(json.dumps(state))), \
            mock.patch.object(minio_bucket, "apply", lambda server, changes, *rest: applied.append(changes)):
        with pytest.raises(_Exit) as stop:
            minio_bucket.main()
    return stop.value.result, applied


def test_check_mode_reports_and_diffs_without_writing():
    result, applied = _run(EMPTY, check_mode=True)
    assert result["changed"] is True and applied == []
    assert result["changes"] == ["bucket created", "policy created", "user created", "user policy set"]
    assert result["diff"]["before"] == EMPTY
    assert result["diff"]["after"]["user"] == {"status": "enabled", "policies": ["mlflow-bucket"], "secret_key": "accepted"}
    assert SECRET not in json.dumps(result)


def test_a_run_applies_the_planned_changes():
    result, applied = _run(dict(IN_PLACE, policy=None))
    assert (result["changed"], result["changes"]) == (True, ["policy created"])
    assert applied == [["policy created"]]


def test_nothing_to_do_writes_nothing():
    result, applied = _run(IN_PLACE)
    assert (result["changed"], result["changes"], applied) == (False, [], [])
    assert "diff" not in result


def test_a_missing_minio_client_is_named():
    result, applied = _run(IN_PLACE, has_minio=False)
    assert result["failed"] is True and applied == []
    assert "minio" in result["msg"] and "required" in result["msg"]
