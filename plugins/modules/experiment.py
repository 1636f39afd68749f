#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: experiment
short_description: Manage MLflow experiments
version_added: 0.1.0
description:
  - Create, update, restore and delete experiments on an MLflow tracking server through its REST API.
  - An experiment whose name is held by a deleted experiment is restored rather than recreated,
    because MLflow keeps deleted experiments (and their names) until C(mlflow gc) purges them.
  - Deleting an experiment is a soft delete that also marks its runs deleted; it can be undone
    by running the module again with O(state=present).
author:
  - mlops.mlflow developers (@mlops)
options:
  name:
    description:
      - Name of the experiment.
    type: str
    required: true
  state:
    description:
      - V(present) creates the experiment, or restores a deleted one, and updates it.
      - V(absent) deletes it (soft delete).
    type: str
    choices: [present, absent]
    default: present
  artifact_location:
    description:
      - Where runs of the experiment store their artifacts, for example V(s3://bucket/prefix).
      - Only used when the experiment is created; the server's default applies when not set.
      - MLflow cannot change it afterwards, so a different value for an existing experiment is an error.
    type: str
  description:
    description:
      - Description of the experiment, stored by MLflow in the C(mlflow.note.content) tag.
      - V("") clears it.
    type: str
  purge_tags:
    description:
      - Whether to remove tags that are not in O(tags). Has no effect when O(tags) is not set.
      - Tags whose key starts with C(mlflow.) belong to MLflow and are never purged.
      - Removing experiment tags needs MLflow 3.0 or later.
extends_documentation_fragment:
  - mlops.mlflow.mlflow
  - mlops.mlflow.mlflow.tags
  - mlops.mlflow.mlflow.attributes
seealso:
  - module: mlops.mlflow.permission
"""

EXAMPLES = r"""
- name: Manage experiments with one connection setting
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/mlops.mlflow.mlflow:
      tracking_uri: https://mlflow.example.com
      auth_username: admin
      auth_password: "{{ vault_mlflow_admin_password }}"
  tasks:
    - name: Create the fraud-detection experiment
      mlops.mlflow.experiment:
        name: fraud-detection
        artifact_location: s3://mlflow-artifacts/fraud-detection
        description: Gradient boosting models for card fraud
        tags:
          team: risk
          cost_center: "4711"

    - name: Add a tag and keep the others
      mlops.mlflow.experiment:
        name: fraud-detection
        tags:
          reviewed: "true"
        purge_tags: false

    - name: Delete an experiment (soft delete)
      mlops.mlflow.experiment:
        name: scratch
        state: absent
"""

RETURN = r"""
experiment:
  description:
    - The experiment as the server returns it after the change (C(experiments/get-by-name)).
    - Empty when the experiment is absent. In check mode, the experiment as it is before the change.
  returned: always
  type: dict
  sample:
    experiment_id: "1"
    name: fraud-detection
    artifact_location: s3://mlflow-artifacts/fraud-detection
    lifecycle_stage: active
    creation_time: 1763800000000
    last_update_time: 1763800000000
    tags:
      - key: team
        value: risk
      - key: mlflow.note.content
        value: Gradient boosting models for card fraud
"""

from ansible_collections.mlops.mlflow.plugins.module_utils.client import tags_to_dict
from ansible_collections.mlops.mlflow.plugins.module_utils.common import (
    MlflowModule,
    apply_map,
    merge_tags,
    tags_argument_spec,
)

NOTE_TAG = "mlflow.note.content"


def _location_key(location):
    """Compare artifact locations the way a user means them: file:///x equals /x, no trailing /."""
    location = location or ""
    if location.startswith("file://"):
        location = location[len("file://"):]
    return location.rstrip("/")


class ExperimentModule(MlflowModule):
    result_key = "experiment"

    def read(self):
        return self.client.get_experiment_by_name(self.params["name"])

    def exists(self, obj):
        return obj.get("lifecycle_stage") == "active"

    def view(self, obj):
        tags = tags_to_dict(obj.get("tags"))
        description = tags.pop(NOTE_TAG, "")
        return {
            "name": obj["name"],
            "artifact_location": obj.get("artifact_location"),
            "description": description,
            "tags": tags,
        }

    def desired(self, have):
        params = self.params
        # A deleted experiment comes back with what it had, so start from it too.
        base = have or (self.view(self.found) if self.found else None)
        want = dict(base) if base else {"name": params["name"], "description": "", "tags": {}}
        location = params["artifact_location"]
        current = want.get("artifact_location")
        if location is not None:
            if current and _location_key(location) != _location_key(current):
                self.fail("Experiment %r has artifact_location %r; MLflow cannot change it to %r. "
                          "Create a new experiment instead." % (params["name"], current, location))
            want["artifact_location"] = current or location
        if params["description"] is not None:
            want["description"] = params["description"]
        want["tags"] = merge_tags(want["tags"], params["tags"], params["purge_tags"])
        return want

    def create(self, want, obj):
        if obj is None:
            tags = dict(want["tags"])
            if want["description"]:
                tags[NOTE_TAG] = want["description"]
            self.client.create_experiment(want["name"], want.get("artifact_location"), tags)
            return
        # The name belongs to a deleted experiment: bring it back, then update it.
        self.client.restore_experiment(obj["experiment_id"])
        self.update(obj, self.view(obj), want)

    def update(self, obj, have, want):
        experiment_id = obj["experiment_id"]
        apply_map(
            have["tags"], want["tags"],
            lambda key, value: self.client.set_experiment_tag(experiment_id, key, value),
            lambda key: self.client.delete_experiment_tag(experiment_id, key),
        )
        if want["description"] != have["description"]:
            self.client.set_experiment_tag(experiment_id, NOTE_TAG, want["description"])

    def delete(self, obj):
        self.client.delete_experiment(obj["experiment_id"])


def main():
    ExperimentModule(dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        artifact_location=dict(type="str"),
        description=dict(type="str"),
        **tags_argument_spec(),
    )).run()


if __name__ == "__main__":
    main()
