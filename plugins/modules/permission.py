#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: permission
short_description: Grant MLflow users a permission on an experiment or a registered model
version_added: 0.1.0
description:
  - Manage a user's explicit permission on one experiment or one registered model in MLflow's
    built-in authentication (C(mlflow server --app-name basic-auth)).
  - MLflow has two incompatible permission APIs. Up to 3.12 each resource type has its own
    endpoints (C(/api/2.0/mlflow/experiments/permissions/*), C(/api/2.0/mlflow/registered-models/permissions/*));
    from 3.13 one role-based API replaces them (C(/api/3.0/mlflow/users/permissions/*)).
    The module picks the API from the server's version unless O(api) says otherwise.
  - Only explicit grants are managed. The server's C(default_permission) applies to users without one,
    and admins are allowed everything anyway.
  - The connection must authenticate as an admin, or as a user with C(MANAGE) on the resource.
author:
  - mlops.mlflow developers (@mlops)
options:
  username:
    description:
      - Name of the user who gets the permission.
    type: str
    required: true
  experiment_id:
    description:
      - ID of the experiment.
      - Exactly one of O(experiment_id), O(experiment_name) and O(registered_model) is required.
    type: str
  experiment_name:
    description:
      - Name of the experiment, looked up to find its ID. The experiment must exist when O(state=present).
    type: str
  registered_model:
    description:
      - Name of the registered model.
    type: str
    aliases: [model_name]
  permission:
    description:
      - Permission level. Required when O(state=present).
      - V(USE) needs MLflow 3.9 or later, V(DENY) MLflow 3.17 or later.
      - V(NO_PERMISSIONS) exists only in the API before MLflow 3.13; later servers use V(DENY).
    type: str
    choices: [READ, USE, EDIT, MANAGE, NO_PERMISSIONS, DENY]
  state:
    description:
      - V(present) grants the permission or changes its level; V(absent) revokes the explicit grant.
    type: str
    choices: [present, absent]
    default: present
  api:
    description:
      - Which permission API to use. V(auto) uses V(v3) on MLflow 3.13 and later, V(v2) before.
    type: str
    choices: [auto, v2, v3]
    default: auto
extends_documentation_fragment:
  - mlops.mlflow.mlflow
  - mlops.mlflow.mlflow.attributes
seealso:
  - module: mlops.mlflow.user
"""

EXAMPLES = r"""
- name: Manage permissions from the tracking server itself
  hosts: mlflow_tracking
  run_once: true
  gather_facts: false
  module_defaults:
    group/mlops.mlflow.mlflow:
      tracking_uri: http://127.0.0.1:5000
      auth_username: "{{ mlflow_admin_username }}"
      auth_password: "{{ mlflow_admin_password }}"
  tasks:
    - name: Let alice edit the fraud-detection experiment
      mlops.mlflow.permission:
        username: alice
        experiment_name: fraud-detection
        permission: EDIT

    - name: Let the deploy bot manage the fraud model
      mlops.mlflow.permission:
        username: deploy-bot
        registered_model: fraud-classifier
        permission: MANAGE

    - name: Remove bob's explicit grant (the server default applies again)
      mlops.mlflow.permission:
        username: bob
        experiment_id: "4"
        state: absent
"""

RETURN = r"""
permission:
  description:
    - The explicit grant as the server reports it after the change, in one shape for both APIs.
    - Empty when there is no explicit grant. In check mode, the grant as it is before the change.
  returned: always
  type: dict
  contains:
    username:
      description: The user.
      type: str
      sample: alice
    resource_type:
      description: V(experiment) or V(registered_model).
      type: str
      sample: experiment
    resource_id:
      description: The experiment ID or the registered model name.
      type: str
      sample: "1"
    permission:
      description: The permission level.
      type: str
      sample: EDIT
    api:
      description: The permission API used, V(v2) or V(v3).
      type: str
      sample: v3
"""

from ansible_collections.mlops.mlflow.plugins.module_utils.common import MlflowModule

# The synthetic role that holds a user's direct grants in the 3.13+ API is named __user_<id>__.
USER_ROLE_PREFIX = "__user_"


class PermissionModule(MlflowModule):
    result_key = "permission"
    module_kwargs = dict(
        required_one_of=[("experiment_id", "experiment_name", "registered_model")],
        mutually_exclusive=[("experiment_id", "experiment_name", "registered_model")],
        required_if=[("state", "present", ("permission",))],
    )

    def prepare(self):
        api = self.params["api"]
        self.api = self.client.permission_api() if api == "auto" else api
        self.resource_type, self.resource_id = self._resource()

    def _resource(self):
        params = self.params
        if params["registered_model"]:
            return "registered_model", params["registered_model"]
        if params["experiment_id"]:
            return "experiment", params["experiment_id"]
        experiment = self.client.get_experiment_by_name(params["experiment_name"])
        if experiment is None or experiment.get("lifecycle_stage") != "active":
            if params["state"] == "absent":
                return "experiment", None
            self.fail("Experiment %r does not exist." % params["experiment_name"])
        return "experiment", experiment["experiment_id"]

    def read(self):
        if self.resource_id is None:
            return None
        username = self.params["username"]
        if self.api == "v2":
            found = self.client.get_permission_v2(self.resource_type, self.resource_id, username)
            return dict(found, username=username) if found else None
        for grant in self.client.list_user_permissions_v3(username):
            if (grant.get("resource_type") == self.resource_type
                    and grant.get("resource_pattern") == self.resource_id
                    and (grant.get("role_name") or "").startswith(USER_ROLE_PREFIX)):
                return dict(grant, username=username)
        return None

    def view(self, obj):
        return {
            "username": obj["username"],
            "resource_type": self.resource_type,
            "resource_id": self.resource_id,
            "permission": obj["permission"],
        }

    def desired(self, have):
        return {
            "username": self.params["username"],
            "resource_type": self.resource_type,
            "resource_id": self.resource_id,
            "permission": self.params["permission"],
        }

    def result(self, obj):
        return dict(self.view(obj), api=self.api) if obj else {}

    def create(self, want, obj):
        if self.api == "v2":
            self.client.set_permission_v2(self.resource_type, self.resource_id, want["username"],
                                          want["permission"], exists=False)
        else:
            self.client.grant_permission_v3(self.resource_type, self.resource_id, want["username"],
                                            want["permission"])

    def update(self, obj, have, want):
        if self.api == "v2":
            self.client.set_permission_v2(self.resource_type, self.resource_id, want["username"],
                                          want["permission"], exists=True)
            return
        # 3.13+: change the level in place on the user's own role, so the grant never disappears.
        for entry in self.client.list_role_permissions_v3(obj["role_id"]):
            if entry.get("resource_type") == self.resource_type and entry.get("resource_pattern") == self.resource_id:
                self.client.update_role_permission_v3(entry["id"], want["permission"])
                return
        self.delete(obj)
        self.create(want, None)

    def delete(self, obj):
        if self.api == "v2":
            self.client.delete_permission_v2(self.resource_type, self.resource_id, obj["username"])
        else:
            self.client.revoke_permission_v3(self.resource_type, self.resource_id, obj["username"])


def main():
    PermissionModule(dict(
        username=dict(type="str", required=True),
        experiment_id=dict(type="str"),
        experiment_name=dict(type="str"),
        registered_model=dict(type="str", aliases=["model_name"]),
        permission=dict(type="str", choices=["READ", "USE", "EDIT", "MANAGE", "NO_PERMISSIONS", "DENY"]),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        api=dict(type="str", default="auto", choices=["auto", "v2", "v3"]),
    )).run()


if __name__ == "__main__":
    main()
