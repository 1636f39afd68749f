#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: user
short_description: Manage users of the MLflow basic-auth app
version_added: 0.1.0
description:
  - Create, update and delete users of MLflow's built-in authentication
    (C(mlflow server --app-name basic-auth)), through its REST API.
  - The connection must authenticate as an admin user.
  - MLflow never reveals a stored password. To find out whether the password is already the one
    asked for, the module authenticates as the user with it; it changes the password only when
    that fails.
author:
  - mlops.mlflow developers (@mlops)
options:
  name:
    description:
      - Name of the user.
    type: str
    required: true
    aliases: [username]
  password:
    description:
      - Password of the user, at least 12 characters (MLflow's rule).
      - Required to create a user.
    type: str
  update_password:
    description:
      - V(always) checks the password of an existing user and changes it when it does not match.
      - V(on_create) sets the password only when the user is created.
    type: str
    choices: [always, on_create]
    default: always
  admin:
    description:
      - Whether the user is an admin. Leave out to leave it alone; new users are not admins.
    type: bool
    aliases: [is_admin]
  state:
    description:
      - V(present) creates or updates the user; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - mlops.mlflow.mlflow
  - mlops.mlflow.mlflow.attributes
notes:
  - The connection's O(auth_username) and O(auth_password) are those of the admin that makes the
    change; O(name) and O(password) are the managed user's.
  - Users cannot delete themselves (MLflow 3 refuses it).
  - Deleting a user on MLflow before 3.0 first revokes the user's explicit grants, because those
    servers cannot delete a user who has any.
  - When the password of the connecting user itself is changed, the module sends the current
    password as MLflow 3.13 and later require.
seealso:
  - module: mlops.mlflow.permission
"""

EXAMPLES = r"""
- name: Manage MLflow users from the inventory
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/mlops.mlflow.mlflow:
      tracking_uri: "{{ mlflow_public_url }}"
      auth_username: "{{ mlflow_admin_username }}"
      auth_password: "{{ vault_mlflow_admin_password }}"
      validate_certs: true
  tasks:
    - name: Create a data scientist whose password the inventory keeps in sync
      mlops.mlflow.user:
        name: alice
        password: "{{ vault_alice_password }}"

    - name: Create a CI user once, then let it rotate its own password
      mlops.mlflow.user:
        name: ci-bot
        password: "{{ vault_ci_initial_password }}"
        update_password: on_create
        admin: false

    - name: Remove a user
      mlops.mlflow.user:
        name: bob
        state: absent
"""

RETURN = r"""
user:
  description:
    - The user as the server returns it after the change (C(users/get)); never contains a password.
    - Empty when the user is absent. In check mode, the user as it is before the change.
  returned: always
  type: dict
  sample:
    id: 2
    username: alice
    is_admin: false
"""

from ansible_collections.mlops.mlflow.plugins.module_utils.common import MlflowModule


class UserModule(MlflowModule):
    result_key = "user"

    def read(self):
        return self.client.get_user(self.params["name"])

    def _checks_password(self):
        params = self.params
        return (params["state"] == "present" and params["password"] is not None
                and params["update_password"] == "always")

    def view(self, obj):
        have = {"username": obj["username"], "is_admin": bool(obj.get("is_admin"))}
        if self._checks_password():
            have["password_matches"] = self.client.check_password(obj["username"], self.params["password"])
        return have

    def desired(self, have):
        params = self.params
        if have is None and not params["password"]:
            self.fail("password is required to create user %r." % params["name"])
        want = dict(have) if have else {"username": params["name"], "is_admin": False}
        if params["admin"] is not None:
            want["is_admin"] = params["admin"]
        if "password_matches" in want:
            want["password_matches"] = True
        return want

    def create(self, want, obj):
        self.client.create_user(want["username"], self.params["password"])
        if want["is_admin"]:
            self.client.update_user_admin(want["username"], True)

    def update(self, obj, have, want):
        if want["is_admin"] != have["is_admin"]:
            self.client.update_user_admin(want["username"], want["is_admin"])
        if not have.get("password_matches", True):
            self.client.update_user_password(want["username"], self.params["password"])

    def delete(self, obj):
        username = obj["username"]
        # MLflow before 3.x lists the user's grants here, and fails to delete a user who has any.
        for grant in obj.get("experiment_permissions") or []:
            self.client.delete_permission_v2("experiment", grant["experiment_id"], username)
        for grant in obj.get("registered_model_permissions") or []:
            self.client.delete_permission_v2("registered_model", grant["name"], username)
        self.client.delete_user(username)


def main():
    UserModule(dict(
        name=dict(type="str", required=True, aliases=["username"]),
        password=dict(type="str", no_log=True),
        update_password=dict(type="str", default="always", choices=["always", "on_create"], no_log=False),
        admin=dict(type="bool", aliases=["is_admin"]),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )).run()


if __name__ == "__main__":
    main()
