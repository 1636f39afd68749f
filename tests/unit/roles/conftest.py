# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Render role templates as the template module does: role defaults and vars, the collection's filters."""

from __future__ import annotations

import importlib.util
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


@pytest.fixture(scope="session")
def minio_admin():
    """roles/minio/files/minio-admin.py as a module (it needs the minio package only for API calls)."""
    spec = importlib.util.spec_from_file_location("minio_admin", REPO / "roles" / "minio" / "files" / "minio-admin.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
