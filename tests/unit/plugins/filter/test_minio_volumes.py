# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The minio_volumes filter: MINIO_VOLUMES values and the directories they name.

The collection is importable through tests/unit/plugins/conftest.py.
"""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.mlops.mlflow.plugins.filter.minio_volumes import FilterModule, minio_volumes


def test_one_drive():
    assert minio_volumes("/var/lib/minio/data") == {
        "volumes": "/var/lib/minio/data", "paths": ["/var/lib/minio/data"], "distributed": False}


def test_several_drives_as_a_list_or_a_string():
    expected = {"volumes": "/srv/b /srv/a", "paths": ["/srv/a", "/srv/b"], "distributed": False}
    assert minio_volumes(["/srv/b", "/srv/a/"]) == dict(expected, volumes="/srv/b /srv/a/")
    assert minio_volumes("  /srv/b\n/srv/a ") == expected


def test_a_range_of_drives():
    result = minio_volumes("/srv/minio/disk{1...4}")
    assert result["volumes"] == "/srv/minio/disk{1...4}"
    assert result["paths"] == ["/srv/minio/disk1", "/srv/minio/disk2", "/srv/minio/disk3", "/srv/minio/disk4"]
    assert result["distributed"] is False


def test_ranges_keep_leading_zeros_and_combine():
    paths = minio_volumes("/d{08...10}/part{1...2}")["paths"]
    assert paths == ["/d08/part1", "/d08/part2", "/d09/part1", "/d09/part2", "/d10/part1", "/d10/part2"]


def test_a_multi_node_pool():
    result = minio_volumes(["https://minio{1...4}.example.net:9000/mnt/disk{1...4}/minio"])
    assert result["volumes"] == "https://minio{1...4}.example.net:9000/mnt/disk{1...4}/minio"
    assert result["paths"] == ["/mnt/disk1/minio", "/mnt/disk2/minio", "/mnt/disk3/minio", "/mnt/disk4/minio"]
    assert result["distributed"] is True


def test_two_pools():
    result = minio_volumes("http://a{1...2}:9000/d{1...2} http://b{1...2}:9000/d{3...4}")
    assert result["paths"] == ["/d1", "/d2", "/d3", "/d4"]
    assert result["distributed"] is True


@pytest.mark.parametrize("value, words", [
    ("", "no drives"),
    ([], "no drives"),
    ("relative/dir", "neither an absolute path"),
    ("/", "neither an absolute path"),
    ("http://host:9000", "neither an absolute path"),
    ("/srv/a https://h:9000/srv/b", "cannot be mixed"),
    ("/srv/disk{4...1}", "FIRST <= LAST"),
    ("/srv/disk{a...d}", "decimal numbers"),
    ("/srv/../etc", "without . or .."),
    ("/srv/{1...2000}", "more than 1024"),
    ([1, 2], "must be a string"),
    ({"a": 1}, "a string or a list"),
])
def test_bad_drives_fail_with_a_reason(value, words):
    with pytest.raises(AnsibleFilterError) as error:
        minio_volumes(value)
    assert words in str(error.value)
    assert str(error.value).startswith("minio_volumes: ")


def test_the_filter_is_registered():
    assert FilterModule().filters() == {"minio_volumes": minio_volumes}
