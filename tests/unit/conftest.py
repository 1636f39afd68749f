# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Ansible's collection loader for every unit test, before any test imports the collection.

Role template tests (tests/unit/roles) resolve the collection's filters by name, which needs the
loader; it must be installed before the first `import ansible_collections...`, or the package is
imported without it and the names no longer resolve.
"""

from __future__ import annotations

from pathlib import Path

from ansible.plugins.loader import init_plugin_loader

REPO = Path(__file__).resolve().parents[2]


def collections_root():
    """A directory holding ansible_collections/mlops/mlflow: the checkout's own layout, or a link in .cache."""
    if REPO.parent.name == "mlops" and REPO.parent.parent.name == "ansible_collections":
        return REPO.parents[2]
    root = REPO / ".cache" / "collections"
    link = root / "ansible_collections" / "mlops" / "mlflow"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO)
    return root


init_plugin_loader([str(collections_root())])
