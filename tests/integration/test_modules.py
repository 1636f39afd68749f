# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each module's playbook against each MLflow server of the matrix (see conftest.py).

A playbook runs the sequence check-mode create, create, repeat, check-mode update with diff,
update, repeat, delete, repeat, and asserts every step, reading the server state back.
"""

from __future__ import annotations

import re

# Target -> whether it needs the basic-auth app; conftest.py parametrizes target and server_id
# from this map, so these run only against servers started with the auth app.
TARGETS = {
    "server_info": False,
    "experiment": False,
    "registered_model": False,
    "model_version": False,
    "user": True,
    "permission": True,
}

# Anything that looks like a stored password hash must never reach the output.
HASH = re.compile(r"(pbkdf2|scrypt)[:$]")


def test_module(target, server_id, mlflow_servers, run_playbook):
    server = mlflow_servers[server_id]
    returncode, output = run_playbook(target, server)
    secrets_seen = [s for s in (server.admin_password,) if s and s in output]
    assert returncode == 0, "playbook %s failed against %s" % (target, server_id)
    assert not secrets_seen, "the admin password appears in the output"
    assert "test-secret-" not in output, "a test user's password appears in the output"
    assert not HASH.search(output), "a password hash appears in the output"
