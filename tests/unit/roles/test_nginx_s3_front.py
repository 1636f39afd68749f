# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The nginx role's rules for the published S3 endpoint, evaluated as nginx evaluates its maps.

The site is rendered with the role's defaults and vars; its map blocks are read back with nginx's
quoting rules and evaluated for each request the way nginx does (exact strings, then regular expressions
in order, then the default). The same rules run against real stores in the default Molecule scenario
(molecule/default/tests/test_s3_front.py); here every case takes microseconds, and unusual access keys and
bucket names are cheap to try.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

STACK = {"upstreams": ["127.0.0.1:5000"], "s3_upstream": "127.0.0.1:8333", "s3_upstream_tls": False,
         "s3_upstream_server_name": "", "s3_server_ca": "", "tracking_tls": False, "tracking_tls_server_name": "mlflow-tracking"}
DATE = "20260101/us-east-1/s3/aws4_request"


def _tokens(text):
    """nginx's configuration tokens: quoted strings unescaped as nginx does, comments dropped."""
    tokens, i = [], 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char == "#":
            i = text.index("\n", i) if "\n" in text[i:] else len(text)
        elif char in "{};":
            tokens.append(char)
            i += 1
        else:
            quote_char = char if char in "\"'" else None
            i += 1 if quote_char else 0
            word = []
            while i < len(text):
                char = text[i]
                if char == "\\" and i + 1 < len(text):
                    following = text[i + 1]
                    if following in "\"'\\":
                        word.append(following)
                    elif following in "trn":
                        word.append({"t": "\t", "r": "\r", "n": "\n"}[following])
                    else:
                        word.append(char + following)
                    i += 2
                    continue
                if (quote_char and char == quote_char) or (not quote_char and (char.isspace() or char in "{};")):
                    break
                word.append(char)
                i += 1
            i += 1 if quote_char else 0
            tokens.append("".join(word))
    return tokens


class Maps(object):
    """The map blocks of a rendered site, evaluated for one request at a time."""

    def __init__(self, conf):
        self.maps = {}
        tokens = _tokens(conf)
        i = 0
        while i < len(tokens):
            if tokens[i] == "map" and tokens[i + 3] == "{":
                source, target = tokens[i + 1], tokens[i + 2]
                entries, default, i = [], None, i + 4
                while tokens[i] != "}":
                    key, value = tokens[i], tokens[i + 1]
                    assert tokens[i + 2] == ";"
                    if key == "default":
                        default = value
                    else:
                        entries.append((key, value))
                    i += 3
                self.maps[target.lstrip("$")] = (source, entries, default or "")
            i += 1

    def value(self, name, request):
        if name not in self.maps:
            return request.get(name, "")
        source, entries, default = self.maps[name]
        subject = re.sub(r"\$([a-z_0-9]+)", lambda match: self.value(match.group(1), request), source)
        for key, value in entries:
            if not key.startswith("~") and key.lower() == subject.lower():
                return value
        for key, value in entries:
            if key.startswith("~*") and re.search(key[2:], subject, re.IGNORECASE) or \
                    key.startswith("~") and not key.startswith("~*") and re.search(key[1:], subject):
                return value
        return default

    def refused(self, method, target, authorization="", copy_source=""):
        args = target.partition("?")[2]
        return self.value("mlflow_s3_refused", {
            "request_method": method, "request_uri": target, "args": args, "http_authorization": authorization,
            "http_x_amz_copy_source": copy_source})


def _render(nginx_role, **variables):
    values = dict(__mlflow_stack=STACK, mlflow_server_name="mlflow.example.net", ansible_facts={"all_ipv6_addresses": []},
                  mlflow_s3_store="seaweedfs")
    values.update(variables)
    return nginx_role.render("mlflow.conf.j2", **values)


@pytest.fixture(scope="module")
def nginx_role():
    from conftest import RoleRenderer

    return RoleRenderer("nginx")


@pytest.fixture(scope="module")
def default_maps(nginx_role):
    return Maps(_render(nginx_role))


def _v4(key):
    return f"AWS4-HMAC-SHA256 Credential={key}/{DATE}, SignedHeaders=host;x-amz-date, Signature=0f"


def _presigned(key):
    return (f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={quote(key, safe='-_.~')}%2F{quote(DATE, safe='')}"
            "&X-Amz-Date=20260101T000000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=0f")


# (method, target, Authorization, expected refusal) for the default access key mlflow, bucket mlflow.
CASES = [
    # What MLflow's tracking servers send (signed headers).
    ("GET", "/mlflow?list-type=2&prefix=artifacts%2F1%2F&delimiter=%2F&encoding-type=url", _v4("mlflow"), ""),
    ("GET", "/mlflow?list-type=2&prefix=artifacts%2F&continuation-token=abc&encoding-type=url", _v4("mlflow"), ""),
    ("HEAD", "/mlflow", _v4("mlflow"), ""),
    ("POST", "/mlflow?delete", _v4("mlflow"), ""),
    ("PUT", "/mlflow/artifacts/1/r/artifacts/model.pkl", _v4("mlflow"), ""),
    ("GET", "/mlflow/artifacts/1/r/artifacts/model.pkl", _v4("mlflow"), ""),
    ("HEAD", "/mlflow/artifacts/1/r/artifacts/model.pkl", _v4("mlflow"), ""),
    ("DELETE", "/mlflow/artifacts/1/r/artifacts/model.pkl", _v4("mlflow"), ""),
    ("POST", "/mlflow/artifacts/big.bin?uploads", _v4("mlflow"), ""),
    ("PUT", "/mlflow/artifacts/big.bin?partNumber=2&uploadId=abc", _v4("mlflow"), ""),
    ("POST", "/mlflow/artifacts/big.bin?uploadId=abc", _v4("mlflow"), ""),
    ("DELETE", "/mlflow/artifacts/big.bin?uploadId=abc", _v4("mlflow"), ""),
    # What clients send with the URLs MLflow presigns.
    ("PUT", "/mlflow/artifacts/big.bin?partNumber=1&uploadId=abc&" + _presigned("mlflow"), "", ""),
    ("GET", "/mlflow/artifacts/a.txt?response-content-disposition=attachment%3B%20filename%3D%22a.txt%22&" + _presigned("mlflow"), "", ""),
    ("PUT", "/mlflow/artifacts/a.txt?" + _presigned("mlflow"), "", ""),
    # SigV2, header and query (boto3's default for presigned URLs).
    ("GET", "/mlflow/artifacts/a.txt", "AWS mlflow:c2lnbmF0dXJl", ""),
    ("GET", "/mlflow/artifacts/a.txt?AWSAccessKeyId=mlflow&Signature=abc%3D&Expires=1700000000", "", ""),
    ("PUT", "/mlflow/artifacts/a.txt?AWSAccessKeyId=mlflow&Signature=abc&content-type=text%2Fplain&Expires=1", "", ""),
    # Other identities, whatever they ask for.
    ("GET", "/mlflow/artifacts/a.txt", _v4("admin"), "identity"),
    ("GET", "/mlflow?list-type=2", _v4("admin"), "identity"),
    ("GET", "/mlflow/artifacts/a.txt?" + _presigned("admin"), "", "identity"),
    ("GET", "/mlflow/artifacts/a.txt?AWSAccessKeyId=admin&Signature=abc&Expires=1", "", "identity"),
    ("GET", "/mlflow/artifacts/a.txt", "AWS admin:c2ln", "identity"),
    ("GET", "/mlflow/artifacts/a.txt", _v4("mlflowx"), "identity"),
    ("GET", "/mlflow/artifacts/a.txt", _v4("MLFLOW"), "identity"),
    ("GET", "/mlflow/artifacts/a.txt", _v4("mlflow/x"), "identity"),
    ("GET", "/mlflow/artifacts/a.txt", "Bearer eyJhbGciOi", "identity"),
    ("GET", "/mlflow/artifacts/a.txt", "", "identity"),
    # Two signatures, or one the store would read otherwise.
    ("GET", "/mlflow/artifacts/a.txt?AWSAccessKeyId=admin&Signature=x&Expires=1", _v4("mlflow"), "identity"),
    ("GET", "/mlflow/artifacts/a.txt?" + _presigned("mlflow"), _v4("mlflow"), "identity"),
    ("GET", "/mlflow/artifacts/a.txt?" + _presigned("mlflow") + "&x-amz-credential=admin%2F" + quote(DATE, safe=""), "", "identity"),
    ("GET", "/mlflow/artifacts/a.txt?x-amz-credential=admin%2F" + quote(DATE, safe="") + "&" + _presigned("mlflow"), "", "identity"),
    ("GET", "/mlflow/artifacts/a.txt?" + _presigned("mlflow").replace("X-Amz-Credential", "X-Amz-%43redential"), "", "identity"),
    ("GET", "/mlflow/artifacts/a.txt?" + _presigned("mlflow").replace("X-Amz-Credential", "x-amz-credential"), "", "identity"),
    ("GET", "/mlflow/artifacts/a.txt?AWSAccessKeyId=mlflow&awsaccesskeyid=admin&Signature=x", "", "identity"),
    ("GET", "/mlflow/artifacts/a.txt?" + _presigned("mlflow").replace("mlflow%2F", "mlflow%2Fx%2F"), "", "identity"),
    # Paths outside the bucket: the bucket list, other buckets, MinIO's and SeaweedFS's own APIs.
    ("GET", "/", _v4("mlflow"), "path"),
    ("POST", "/?Action=CreateUser&UserName=x", _v4("mlflow"), "path"),
    ("GET", "/other?list-type=2", _v4("mlflow"), "path"),
    ("GET", "/other/report.txt", _v4("admin"), "path"),
    ("PUT", "/mlflow-more", _v4("mlflow"), "path"),
    ("GET", "/mlflowx/a", _v4("mlflow"), "path"),
    ("GET", "/minio/admin/v3/info", _v4("mlflow"), "path"),
    ("GET", "/minio/v2/metrics/cluster", "Bearer x", "path"),
    ("GET", "/minio/health/live", "", "path"),
    ("GET", "//mlflow/a", _v4("mlflow"), "path"),
    ("GET", "/MLFLOW/a", _v4("mlflow"), "path"),
    ("GET", "/ml%66low/a", _v4("mlflow"), "path"),
    ("GET", "/other/../mlflow/a", _v4("mlflow"), "path"),
    ("GET", "/mlflow/../other/a", _v4("mlflow"), "path"),
    ("GET", "/mlflow/%2e%2E/other/a", _v4("mlflow"), "path"),
    ("GET", "/mlflow/.%2E/other/a", _v4("mlflow"), "path"),
    ("GET", "/mlflow%2F..%2Fother/a", _v4("mlflow"), "path"),
    ("GET", "/mlflow/./a", _v4("mlflow"), "path"),
    ("GET", "/mlflow/..?list-type=2", _v4("mlflow"), "path"),
    # Object names that only look like dot segments pass.
    ("GET", "/mlflow/artifacts/.hidden/..data", _v4("mlflow"), ""),
    # MLflow's bucket, MLflow's key, operations MLflow never asks for.
    ("DELETE", "/mlflow", _v4("mlflow"), "operation"),
    ("PUT", "/mlflow", _v4("mlflow"), "operation"),
    ("PUT", "/mlflow?acl", _v4("mlflow"), "operation"),
    ("GET", "/mlflow?policy", _v4("mlflow"), "operation"),
    ("GET", "/mlflow?list-type=2&policy", _v4("mlflow"), "operation"),
    ("GET", "/mlflow?uploads", _v4("mlflow"), "operation"),
    ("GET", "/mlflow?versions", _v4("mlflow"), "operation"),
    ("GET", "/mlflow", _v4("mlflow"), "operation"),
    ("GET", "/mlflow?prefix=artifacts", _v4("mlflow"), "operation"),
    ("GET", "/mlflow?list-type=1", _v4("mlflow"), "operation"),
    ("POST", "/mlflow", _v4("mlflow"), "operation"),
    ("PUT", "/mlflow/a?acl", _v4("mlflow"), "operation"),
    ("PUT", "/mlflow/a?tagging", _v4("mlflow"), "operation"),
    ("GET", "/mlflow/a?uploadId=abc", _v4("mlflow"), "operation"),
    ("GET", "/mlflow/a?acl", _v4("mlflow"), "operation"),
    ("POST", "/mlflow/a", _v4("mlflow"), "operation"),
    ("POST", "/mlflow/a?restore", _v4("mlflow"), "operation"),
    ("POST", "/mlflow/a?select&select-type=2", _v4("mlflow"), "operation"),
    ("PUT", "/mlflow/a?uploadsx", _v4("mlflow"), "operation"),
    ("OPTIONS", "/mlflow/a", _v4("mlflow"), "operation"),
    ("PATCH", "/mlflow/a", _v4("mlflow"), "operation"),
]


@pytest.mark.parametrize("method, target, authorization, expected", CASES)
def test_what_the_s3_endpoint_admits(default_maps, method, target, authorization, expected):
    assert default_maps.refused(method, target, authorization) == expected


def test_copies_are_refused(default_maps):
    assert default_maps.refused("PUT", "/mlflow/artifacts/b.txt", _v4("mlflow"), copy_source="/other/report.txt") == "operation"
    assert default_maps.refused("PUT", "/mlflow/artifacts/b.txt?partNumber=1&uploadId=u", _v4("mlflow"), copy_source="/mlflow/a") == "operation"


@pytest.mark.parametrize("key", ["team.ml+flow@x", "a-b_c=d~e", 'we"ird\\key'])
def test_any_access_key_is_matched_literally(nginx_role, key):
    maps = Maps(_render(nginx_role, mlflow_s3_access_key=key, mlflow_s3_bucket="ml.flow-artifacts"))
    assert maps.refused("GET", "/ml.flow-artifacts/a", _v4(key)) == ""
    assert maps.refused("GET", "/ml.flow-artifacts/a?" + _presigned(key)) == ""
    assert maps.refused("GET", "/ml.flow-artifacts/a?AWSAccessKeyId=" + quote(key, safe="-_.~") + "&Signature=x&Expires=1") == ""
    # A regular expression metacharacter in the key or bucket stays a literal.
    assert maps.refused("GET", "/ml.flow-artifacts/a", _v4(key.replace(".", "X").replace("+", "") + "x")) == "identity"
    assert maps.refused("GET", "/mlXflow-artifacts/a", _v4(key)) == "path"
    assert maps.refused("GET", "/ml.flow-artifacts/a", _v4("mlflow")) == "identity"


def test_the_refusal_is_an_s3_error_and_the_store_is_not_published_for_an_external_store(nginx_role):
    conf = _render(nginx_role)
    assert "if ($mlflow_s3_refused) {" in conf
    assert "<Code>AccessDenied</Code>" in conf and "bucket mlflow" in conf
    external = _render(nginx_role, mlflow_s3_store="external")
    assert "mlflow_s3_refused" not in external and "upstream mlflow_s3" not in external


def test_the_mlflow_server_sends_the_security_headers(nginx_role):
    conf = _render(nginx_role)
    mlflow_server = [block for block in conf.split("\nserver {") if "listen 443 ssl;" in block][0]
    for line in ("add_header X-Content-Type-Options nosniff always;", "add_header Referrer-Policy same-origin always;",
                 "proxy_hide_header X-Content-Type-Options;", "proxy_hide_header Referrer-Policy;"):
        assert line in mlflow_server
    # add_header in a location would drop the server's headers (and HSTS) there.
    for location in re.split(r"\n +location ", mlflow_server)[1:]:
        assert "add_header" not in location


def test_the_s3_endpoint_sends_the_security_headers(nginx_role):
    s3_server = [block for block in _render(nginx_role).split("\nserver {") if "listen 9443 ssl;" in block][0]
    for line in ("add_header X-Content-Type-Options nosniff always;", "add_header Referrer-Policy no-referrer always;"):
        assert line in s3_server
