# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run one of the collection's modules through ansible-playbook, as a role's task runs it.

The task runs on localhost with another venv's Python as ansible_python_interpreter (the MLflow or
MinIO client venv), which is how the roles run these modules on hosts. The module's arguments are
written into the playbook file, so no secret is on a command line; the result is read with the
ansible.posix.json callback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def _collections_path():
    root = REPO / ".cache" / "collections"
    link = root / "ansible_collections" / "mlops" / "mlflow"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO)
    return str(root)


def _playbook_bin():
    candidate = Path(sys.executable).parent / "ansible-playbook"
    return str(candidate) if candidate.exists() else shutil.which("ansible-playbook")


class ModuleRun(object):
    """One run: the module's result (as registered), the play's return code and its whole output."""

    def __init__(self, result, returncode, output):
        self.result = result
        self.returncode = returncode
        self.output = output

    def __getitem__(self, key):
        return self.result[key]

    def get(self, key, default=None):
        return self.result.get(key, default)


def run_module(module, args, python, check=False, diff=False, environment=None):
    """Run mlops.mlflow.<module> with args on localhost under python; return a ModuleRun."""
    task = {"name": "module under test", "mlops.mlflow." + module: args,
            "vars": {"ansible_python_interpreter": str(python)}}
    if environment:
        task["environment"] = environment
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [task]}]
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith("MLFLOW_"))
    env.update(
        ANSIBLE_COLLECTIONS_PATH=_collections_path(),
        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="true",
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="false",
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
    )
    with tempfile.TemporaryDirectory(prefix="module-run-") as directory:
        playbook = Path(directory) / "play.yml"
        playbook.write_text(yaml.safe_dump(play))
        argv = [_playbook_bin(), str(playbook), "-i", "localhost,", "-c", "local"]
        argv += (["--check"] if check else []) + (["--diff"] if diff else [])
        completed = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)
    output = completed.stdout + completed.stderr
    try:
        report = json.loads(completed.stdout)
        result = report["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        raise AssertionError("ansible-playbook gave no result (rc %s):\n%s" % (completed.returncode, output[-4000:]))
    return ModuleRun(result, completed.returncode, output)
