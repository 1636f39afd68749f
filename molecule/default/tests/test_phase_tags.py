"""Each role phase runs alone through its tag on the converged stack, and changes nothing there.

The role READMEs advertise one tag per phase (mlflow_configure, nginx_tls, ...): a phase must find
what the others discovered (installed binaries, the running venv) without them.
"""

import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).parents[3]))
EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
# The store roles other than SeaweedFS do not run in this scenario.
ROLES = ("postgresql", "seaweedfs", "mlflow", "nginx")


def _phase_tags():
    tags = []
    for role in ROLES:
        for task in yaml.safe_load((PROJECT / "roles" / role / "tasks" / "main.yml").read_text()):
            tags += [tag for tag in task.get("tags", []) if tag != role]
    return tags


TAGS = _phase_tags()


def _run(tag):
    # The scenario's own configuration and inventory, as `molecule converge` uses them.
    # Molecule exports ANSIBLE_FORCE_COLOR for its own runs; the recap is read below.
    env = dict(os.environ, ANSIBLE_CONFIG=str(EPHEMERAL / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    return subprocess.run(["ansible-playbook", "-i", str(EPHEMERAL / "inventory"), str(PROJECT / "playbooks" / "site.yml"), "--tags", tag],
                          capture_output=True, text=True, env=env, check=False)


@pytest.fixture(scope="module")
def runs():
    # Nothing changes on the converged host, so the runs may overlap: most of each is waiting for the host.
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(TAGS, pool.map(_run, TAGS)))


@pytest.mark.parametrize("tag", TAGS)
def test_phase_runs_alone_and_changes_nothing(runs, tag):
    result = runs[tag]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    recap = re.findall(r"ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0", re.sub(r"\x1b\[[0-9;]*m", "", result.stdout))
    assert recap and set(recap) == {"0"}, result.stdout[-3000:]


def test_every_role_has_its_phases():
    assert {"postgresql_configure", "seaweedfs_configure", "mlflow_configure", "mlflow_schema", "nginx_configure", "nginx_tls"} <= set(TAGS)
