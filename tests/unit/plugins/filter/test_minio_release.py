# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The minio_release filter: release tags to sortable times, and the role's release rules built on it.

The collection is importable through tests/unit/plugins/conftest.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.mlops.mlflow.plugins.filter.minio_release import FilterModule, minio_release

ROLE_VARS = yaml.safe_load((Path(__file__).parents[4] / "roles" / "minio" / "vars" / "main.yml").read_text())
OLDEST = ROLE_VARS["__minio_oldest_release"]
CVES = ROLE_VARS["__minio_known_cves"]


@pytest.mark.parametrize("text, expected", [
    ("minio version RELEASE.2025-09-07T16-13-09Z (commit-id=07c3a429bfed433e49018cb0f78a52145d4bedeb)\n"
     "Runtime: go1.24.6 linux/amd64\nLicense: GNU AGPLv3 - https://www.gnu.org/licenses/agpl-3.0.html\n",
     "2025-09-07T16:13:09Z"),
    ("RELEASE.2025-10-15T17-29-55Z", "2025-10-15T17:29:55Z"),
    ("minio version RELEASE.2025-01-20T14-49-07Z.hotfix.abcdef12 (commit-id=1)", "2025-01-20T14:49:07Z"),
    ("RELEASE.2024-12-31T23-59-59Z", "2024-12-31T23:59:59Z"),
])
def test_release_tags_become_times(text, expected):
    assert minio_release(text) == expected


@pytest.mark.parametrize("text", [
    "minio version DEVELOPMENT.GOGET (commit-id=DEVELOPMENT.GOGET)",
    "minio version DEVELOPMENT.2025-10-15T17-29-55Z (commit-id=abc)",
    "RELEASE.2025-13-01T00-00-00Z",
    "RELEASE.2025-02-30T00-00-00Z",
    "RELEASE.2025-09-07T16:13:09Z",
    "XRELEASE.2025-09-07T16-13-09Z",
    "",
])
def test_text_without_a_release_tag_fails_or_gives_the_default(text):
    with pytest.raises(AnsibleFilterError) as error:
        minio_release(text)
    message = str(error.value)
    assert "no MinIO release tag" in message
    assert "MINIO_RELEASE=RELEASE" in message
    assert minio_release(text, default="") == ""
    assert minio_release(text, default="none") == "none"


def test_the_default_is_not_used_when_there_is_a_tag():
    assert minio_release("RELEASE.2025-09-07T16-13-09Z", default="") == "2025-09-07T16:13:09Z"


def test_times_sort_like_releases():
    tags = ["RELEASE.2025-10-15T17-29-55Z", "RELEASE.2023-01-02T09-40-09Z", "RELEASE.2025-09-07T16-13-09Z",
            "RELEASE.2025-01-20T14-49-07Z", "RELEASE.2025-01-20T14-49-06Z"]
    times = [minio_release(tag) for tag in tags]
    assert sorted(times) == [minio_release(tag) for tag in sorted(tags)]
    assert sorted(times)[0] == "2023-01-02T09:40:09Z"


def _accepted(tag):
    return minio_release(tag) >= minio_release(OLDEST)


def _cves(tag):
    return sorted(cve for cve, known in CVES.items() if minio_release(tag) < minio_release(known["fixed_in"]))


def test_the_role_refuses_releases_before_the_boto3_fix():
    assert OLDEST == "RELEASE.2025-01-20T14-49-07Z"
    assert not _accepted("RELEASE.2024-12-18T13-15-44Z")
    assert not _accepted("RELEASE.2025-01-20T14-49-06Z")
    assert _accepted("RELEASE.2025-01-20T14-49-07Z")
    assert _accepted("RELEASE.2025-09-07T16-13-09Z")


def test_the_role_warns_about_cve_2025_62506_before_its_fix():
    assert _cves("RELEASE.2025-09-07T16-13-09Z") == ["CVE-2025-62506"]
    assert _cves("RELEASE.2025-10-15T17-29-55Z") == []
    assert _cves("RELEASE.2026-01-01T00-00-00Z") == []


def test_the_filter_is_registered():
    assert FilterModule().filters() == {"minio_release": minio_release}
