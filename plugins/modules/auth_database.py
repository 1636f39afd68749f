#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: auth_database
short_description: Prepare the database of MLflow's basic-auth app and its admin user
version_added: 0.1.0
description:
  - Creates or upgrades the schema of the auth app's database to the installed MLflow's head, creates
    the admin user named in the auth app's ini file, and sets the admin flag and the configured
    password on it when they differ.
  - The stored password hash changes only when the configured password no longer matches it (the
    module authenticates with it first), so rotating the password in the ini file is one run.
  - Meant to run before any server worker starts, so that the workers find the schema and the admin
    ready instead of racing to create both on a fresh database.
  - The database URI, the admin name and password come from the ini file (C(MLFLOW_AUTH_CONFIG_PATH)),
    never from a module option or a command line.
  - Runs on the tracking host with the Python of the MLflow venv (through C(ansible_python_interpreter)).
author:
  - mlops.mlflow developers (@mlops)
requirements:
  - mlflow with its C(auth) extra, and the database driver of the auth database's URI
options:
  env_file:
    description:
      - The tracking server's environment file, as the P(mlops.mlflow.mlflow#role) role writes it.
        Its variables are applied first, among them C(MLFLOW_AUTH_CONFIG_PATH).
      - At least one of O(env_file) and O(config_file) is required.
    type: path
  config_file:
    description:
      - The auth app's ini file. Overrides C(MLFLOW_AUTH_CONFIG_PATH) of O(env_file).
    type: path
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details:
      - When the schema needs an upgrade, the admin cannot be read before it; check mode then reports
        the schema change only.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details:
      - The diff shows the schema revision, whether the admin exists and is an admin, and whether its
        password is the configured one; never a password or a hash.
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
seealso:
  - module: mlops.mlflow.tracking_schema
  - module: mlops.mlflow.user
"""

EXAMPLES = r"""
- name: Prepare the auth database and its admin before the workers start
  mlops.mlflow.auth_database:
    env_file: /etc/mlflow/mlflow.env
  vars:
    ansible_python_interpreter: /opt/mlflow/venv-3.17.2/bin/python
  become: true
  become_user: mlflow
  run_once: true
"""

RETURN = r"""
changes:
  description: What was changed, or would be in check mode, in this order.
  returned: always
  type: list
  elements: str
  sample: [schema, admin created]
schema_from:
  description: The auth schema's revision before the run; null on a fresh database.
  returned: always
  type: str
schema_head:
  description: The newest auth schema revision the installed MLflow knows.
  returned: always
  type: str
admin:
  description: The admin's user name.
  returned: always
  type: str
  sample: admin
"""

import contextlib
import os
import sys

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.mlops.mlflow.plugins.module_utils.env_file import load_env_file
from ansible_collections.mlops.mlflow.plugins.module_utils.mlflow_store import (
    HAS_MLFLOW,
    MLFLOW_IMPORT_ERROR,
    AuthDatabase,
    admin_changes,
)

ADMIN_AFTER = dict(exists=True, is_admin=True, password="configured")


def _run(module):
    params = module.params
    if params["env_file"]:
        load_env_file(params["env_file"])
    if params["config_file"]:
        os.environ["MLFLOW_AUTH_CONFIG_PATH"] = params["config_file"]
    if not os.environ.get("MLFLOW_AUTH_CONFIG_PATH"):
        return {}, "No auth ini file: set config_file, or MLFLOW_AUTH_CONFIG_PATH in env_file."
    database = AuthDatabase()
    try:
        current = database.revision()
        result = dict(changed=False, changes=[], schema_from=current, schema_head=database.head, admin=database.admin_username)
        before = dict(schema_revision=current)
        after = dict(schema_revision=database.head)
        changes = []
        if current != database.head:
            changes.append("schema")
        if not (changes and module.check_mode):
            # Creates or upgrades the schema when needed; at head it only opens the store.
            database.open()
            before["admin"] = database.admin_view()
            after["admin"] = ADMIN_AFTER
            for_admin = admin_changes(before["admin"])
            changes.extend(for_admin)
            if for_admin and not module.check_mode:
                database.apply_admin(for_admin)
        result.update(changed=bool(changes), changes=changes)
        if changes and module._diff:
            result["diff"] = dict(before=before, after=after)
        return result, None
    finally:
        database.close()


def main():
    module = AnsibleModule(
        argument_spec=dict(
            env_file=dict(type="path"),
            config_file=dict(type="path"),
        ),
        required_one_of=[["env_file", "config_file"]],
        supports_check_mode=True,
    )
    if not HAS_MLFLOW:
        module.fail_json(msg=missing_required_lib("mlflow"), exception=MLFLOW_IMPORT_ERROR)
    try:
        # MLflow and alembic may print; only the module's JSON goes to stdout.
        with contextlib.redirect_stdout(sys.stderr):
            result, message = _run(module)
    except Exception as error:  # pylint: disable=broad-except  # configuration, database and migration errors
        module.fail_json(msg="%s: %s" % (type(error).__name__, error))
    if message:
        module.fail_json(msg=message, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
