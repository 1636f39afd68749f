#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: tracking_schema
short_description: Inspect the schema of MLflow's tracking database, and create or upgrade it
version_added: 0.1.0
description:
  - Reads the schema revision of the tracking database, the newest revision the installed MLflow
    knows (its head), whether it knows the stored one at all (a newer MLflow may have upgraded the
    database), and whether the database is fresh (no schema yet).
  - With O(state=current), creates the schema on a fresh database or upgrades it to the head. The
    database is changed only when its revision differs from the head.
  - Optionally reports which of the private environment variable names O(private_names) the
    installed MLflow no longer reads, so that a role can refuse to start a server that would ignore
    them.
  - The database URI (with its password) is read from the server's environment file O(env_file)
    (C(_MLFLOW_SERVER_FILE_STORE)), never from a module option or a command line. The other
    variables of that file (pool settings) are applied too.
  - Runs on the tracking host with the Python of the MLflow venv (through
    C(ansible_python_interpreter)), so that the installed MLflow's own schema code decides.
author:
  - mlops.mlflow developers (@mlops)
requirements:
  - mlflow (with SQLAlchemy and alembic, as MLflow installs them) and the database driver of the URI
options:
  env_file:
    description:
      - The tracking server's environment file, C(KEY="value") lines with C(\\) and C(\") escaped,
        as the P(mlops.mlflow.mlflow#role) role writes it. It must set C(_MLFLOW_SERVER_FILE_STORE).
    type: path
    required: true
  state:
    description:
      - V(inspected) only reads the database.
      - V(current) creates the schema on a fresh database or upgrades it to the installed MLflow's
        head. A revision the installed MLflow does not know is refused.
    type: str
    choices: [inspected, current]
    default: inspected
  private_names:
    description:
      - Environment variable names to look up in the installed MLflow's server code; those it no
        longer mentions are returned in RV(unread_names).
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details:
      - The diff shows the schema revision before and after.
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
notes:
  - Stop every server that uses the database before an upgrade, and take a dump first.
seealso:
  - module: mlops.mlflow.auth_database
"""

EXAMPLES = r"""
- name: Inspect the tracking database with the new MLflow
  mlops.mlflow.tracking_schema:
    env_file: /etc/mlflow/mlflow.env
    private_names: [_MLFLOW_SERVER_FILE_STORE, _MLFLOW_SERVER_ARTIFACT_ROOT]
  vars:
    ansible_python_interpreter: /opt/mlflow/venv-3.17.2/bin/python
  register: schema

- name: Upgrade the schema to that MLflow's head
  mlops.mlflow.tracking_schema:
    env_file: /etc/mlflow/mlflow.env
    state: current
  vars:
    ansible_python_interpreter: /opt/mlflow/venv-3.17.2/bin/python
  when: schema.current != schema.head
"""

RETURN = r"""
version:
  description: The installed MLflow's version.
  returned: always
  type: str
  sample: 3.17.2
fresh:
  description: Whether the database has no schema (after the run).
  returned: always
  type: bool
current:
  description: The revision stored in the database after the run (unchanged in check mode); null when fresh.
  returned: always
  type: str
  sample: 1b5f0d9ad7c1
previous:
  description: The revision stored before the run; null when the database was fresh.
  returned: always
  type: str
head:
  description: The newest revision the installed MLflow knows.
  returned: always
  type: str
  sample: 1b5f0d9ad7c1
known:
  description: Whether the installed MLflow knows the stored revision (true on a fresh database).
  returned: always
  type: bool
unread_names:
  description: The names of O(private_names) the installed MLflow's server code no longer mentions.
  returned: always
  type: list
  elements: str
  sample: []
"""

import contextlib
import sys

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.mlops.mlflow.plugins.module_utils.env_file import load_env_file
from ansible_collections.mlops.mlflow.plugins.module_utils.mlflow_store import (
    HAS_MLFLOW,
    MLFLOW_IMPORT_ERROR,
    StoreError,
    migrate_tracking,
    server_source,
    tracking_state,
    tracking_uri,
    unread_names,
)


def _run(module):
    """The module's work: (result, failure message or None)."""
    import mlflow  # pylint: disable=import-outside-toplevel

    params = module.params
    load_env_file(params["env_file"])
    uri = tracking_uri()
    state = tracking_state(uri)
    names = params["private_names"]
    result = dict(changed=False, version=mlflow.__version__, previous=state["current"],
                  unread_names=unread_names(names, server_source()) if names else [], **state)
    if params["state"] != "current" or state["current"] == state["head"]:
        return result, None
    if not state["known"]:
        return result, ("The tracking database is at schema revision %s, which MLflow %s does not know (its newest is %s): "
                        "a newer MLflow has upgraded it." % (state["current"], mlflow.__version__, state["head"]))
    result["changed"] = True
    if module._diff:
        result["diff"] = dict(before=dict(revision=state["current"]), after=dict(revision=state["head"]))
    if module.check_mode:
        return result, None
    migrate_tracking(uri)
    result.update(tracking_state(uri))
    return result, None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            env_file=dict(type="path", required=True),
            state=dict(type="str", choices=["inspected", "current"], default="inspected"),
            private_names=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    if not HAS_MLFLOW:
        module.fail_json(msg=missing_required_lib("mlflow"), exception=MLFLOW_IMPORT_ERROR)
    try:
        # MLflow and alembic may print; only the module's JSON goes to stdout.
        with contextlib.redirect_stdout(sys.stderr):
            result, message = _run(module)
    except (StoreError, OSError) as error:
        module.fail_json(msg=str(error))
    except Exception as error:  # pylint: disable=broad-except  # database and migration errors
        module.fail_json(msg="%s: %s" % (type(error).__name__, error))
    if message:
        module.fail_json(msg=message, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
