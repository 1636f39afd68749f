# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Render role templates as the template module does: role defaults and vars, the collection's filters."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

REPO = Path(__file__).resolve().parents[3]


def _trusted(value):
    """Role files are trusted templates, as Ansible marks what it loads from a role."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {key: _trusted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_trusted(item) for item in value]
    return value


class RoleRenderer(object):
    """Templates of one role with its defaults, its vars and the variables a test sets."""

    def __init__(self, role):
        self.role = REPO / "roles" / role
        self.variables = {}
        # The stack contract's defaults first (the common role is a dependency of every role).
        common = yaml.safe_load((REPO / "roles" / "common" / "defaults" / "main.yml").read_text())
        self.variables.update(_trusted({k: v for k, v in common.items() if "__mlflow_stack" not in str(v)}))
        for name in ("defaults", "vars"):
            self.variables.update(_trusted(yaml.safe_load((self.role / name / "main.yml").read_text())))

    def templar(self, **variables):
        return Templar(loader=DataLoader(), variables=dict(self.variables, ansible_managed="Ansible managed", **variables))

    def render(self, template, **variables):
        source = trust_as_template((self.role / "templates" / template).read_text())
        # The template module renders files without escaping backslashes.
        return self.templar(**variables).template(source, escape_backslashes=False)

    def value(self, expression, **variables):
        return self.templar(**variables).template(trust_as_template("{{ %s }}" % expression))


@pytest.fixture
def minio_role():
    return RoleRenderer("minio")


@pytest.fixture
def role_renderer():
    """RoleRenderer itself, for tests that render several roles."""
    return RoleRenderer


class SandboxRenderer(object):
    """roles/common's sandbox drop-in, with its entry point's defaults and the vars a role's
    include_role task passes (read from that task, so the test renders what the role writes)."""

    def __init__(self):
        self.role = REPO / "roles" / "common"
        self.defaults = _trusted(yaml.safe_load((self.role / "defaults" / "sandbox.yml").read_text()))

    @staticmethod
    def include_vars(role, tasks_file, unit):
        for task in yaml.safe_load((REPO / "roles" / role / "tasks" / tasks_file).read_text()):
            include = task.get("ansible.builtin.include_role", {})
            if include.get("tasks_from") == "sandbox" and task["vars"]["common_sandbox_unit"] == unit:
                return _trusted(task["vars"])
        raise LookupError(f"{role}/tasks/{tasks_file} does not sandbox {unit}")

    def render(self, role_renderer, include_vars, **variables):
        templar = role_renderer.templar(**variables)
        # What only a run knows (whether the unit changed, the handlers) is left out of the drop-in.
        resolved = {key: templar.template(value) for key, value in include_vars.items()
                    if key not in ("common_sandbox_verify_always", "common_sandbox_notify")}
        source = trust_as_template((self.role / "templates" / "sandbox.conf.j2").read_text())
        templar = role_renderer.templar(**dict(self.defaults, **dict(variables, **resolved)))
        return templar.template(source, escape_backslashes=False)


@pytest.fixture
def sandbox():
    return SandboxRenderer()


@pytest.fixture(scope="session")
def env_file():
    """The collection's environment file parser, which the minio and mlflow modules read these files with."""
    from ansible_collections.mlops.mlflow.plugins.module_utils import env_file as module

    return module


@pytest.fixture(scope="session")
def minio_admin():
    """The MinIO admin logic of the minio_bucket and minio_ready modules (minio is needed only for API calls)."""
    from ansible_collections.mlops.mlflow.plugins.module_utils import minio_admin as module

    return module
