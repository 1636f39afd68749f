# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The version table, one band at a time: what each MLflow release can do."""

from __future__ import annotations

import pytest

from ansible_collections.mlops.mlflow.plugins.filter.mlflow_features import FilterModule
from ansible_collections.mlops.mlflow.plugins.module_utils.versions import FEATURES, TESTED, features, is_known, parse_version

# One release in each band between two thresholds, with the flags that band has.
BANDS = [
    ("2.22.5", set(), "2", "ui"),
    ("3.0.1", {"fastapi_app"}, "3", "ui"),
    ("3.4.0", {"fastapi_app", "auth_on_fastapi"}, "3", "ui"),
    ("3.5.1", {"fastapi_app", "auth_on_fastapi", "security_middleware"}, "3", "ui"),
    ("3.6.0", {"fastapi_app", "auth_on_fastapi", "security_middleware", "auth_version_table"}, "3", "ui"),
    ("3.7.0", {"fastapi_app", "auth_on_fastapi", "security_middleware", "auth_version_table", "prefixed_health"}, "3", "health"),
    ("3.10.2", {"fastapi_app", "auth_on_fastapi", "security_middleware", "auth_version_table", "prefixed_health",
                "server_info_endpoint"}, "3", "health"),
    ("3.12.0", set(FEATURES) - {"permissions_v3", "auth_bootstrap_flag"}, "3", "all"),
    ("3.13.1", set(FEATURES) - {"auth_bootstrap_flag"}, "3", "all"),
    ("3.17.2", set(FEATURES), "3", "all"),
]


@pytest.mark.parametrize("version, flags, line, scope", BANDS, ids=[band[0] for band in BANDS])
def test_each_band(version, flags, line, scope):
    result = FilterModule().filters()["mlflow_features"](version)
    assert {name for name in FEATURES if result[name]} == flags
    assert (result["line"], result["prefix_scope"], result["known"]) == (line, scope, True)


@pytest.mark.parametrize("version", ["2.21.3", "1.30.0", "3.19.0", "4.0.0", "3.17", "3.17.2rc1", "latest", ""])
def test_versions_outside_the_known_lines(version):
    assert not is_known(version)
    assert features(version)["known"] is False


def test_tested_versions_are_known():
    assert all(is_known(version) for version in TESTED)


def test_parse_version():
    assert parse_version("3.18.0rc1") == (3, 18, 0)
    assert parse_version(None) == (0,)
