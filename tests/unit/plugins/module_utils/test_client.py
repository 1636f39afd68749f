# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The REST client with open_url replaced: URLs, auth, retries, pagination, errors, secrets."""

from __future__ import annotations

import base64
import io
import json
from unittest import mock
from urllib.error import HTTPError, URLError

import pytest

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.mlops.mlflow.plugins.module_utils import client as client_module
from ansible_collections.mlops.mlflow.plugins.module_utils.client import (
    MlflowApiError,
    MlflowClient,
    mlflow_argument_spec,
    parse_version,
    scrub,
)

ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN",
       "MLFLOW_TRACKING_INSECURE_TLS", "MLFLOW_TRACKING_SERVER_CERT_PATH", "MLFLOW_TRACKING_CLIENT_CERT_PATH")


class Response(object):
    def __init__(self, body):
        self.body = body if isinstance(body, str) else json.dumps(body)

    def read(self):
        return self.body.encode()


def http_error(code, body):
    return HTTPError("http://x", code, "error", {}, io.BytesIO(body.encode()))


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


def make_client(**params):
    with patch_module_args(params):
        module = AnsibleModule(argument_spec=mlflow_argument_spec())
    sleeps = []
    client = MlflowClient(module, sleep=sleeps.append)
    client.sleeps = sleeps  # the backoff delays it asked for
    return client


@pytest.fixture
def open_url():
    with mock.patch.object(client_module, "open_url") as patched:
        yield patched


def sent_headers(open_url, call=-1):
    return open_url.call_args_list[call][1]["headers"]


def test_url_with_path_prefix_and_query(open_url):
    open_url.return_value = Response({"experiment": {"name": "a b"}})
    client = make_client(tracking_uri="https://mlflow.example.com/mlflow/")
    experiment = client.get_experiment_by_name("a b")
    url = open_url.call_args[0][0]
    assert experiment == {"name": "a b"}
    assert url == "https://mlflow.example.com/mlflow/api/2.0/mlflow/experiments/get-by-name?experiment_name=a+b"
    assert open_url.call_args[1]["method"] == "GET"


def test_post_sends_json_body(open_url):
    open_url.return_value = Response({"experiment_id": "7"})
    client = make_client()
    experiment_id = client.create_experiment("exp", "s3://b/p", {"k": "v"})
    kwargs = open_url.call_args[1]
    assert experiment_id == "7"
    assert json.loads(kwargs["data"]) == {"name": "exp", "artifact_location": "s3://b/p",
                                          "tags": [{"key": "k", "value": "v"}]}
    assert kwargs["headers"]["Content-Type"] == "application/json"


def test_basic_auth_wins_over_token(open_url):
    open_url.return_value = Response("3.17.2")
    client = make_client(auth_username="admin", auth_password="pw-123456789012", auth_token="tok")
    client.version()
    header = sent_headers(open_url)["Authorization"]
    assert header == "Basic " + base64.b64encode(b"admin:pw-123456789012").decode()


def test_bearer_token(open_url):
    open_url.return_value = Response("3.17.2")
    client = make_client(auth_token="tok")
    client.version()
    assert sent_headers(open_url)["Authorization"] == "Bearer tok"


def test_anonymous_request_sends_no_credentials(open_url):
    open_url.return_value = Response("OK")
    client = make_client(auth_username="admin", auth_password="pw")
    client.health()
    assert "Authorization" not in sent_headers(open_url)


def test_environment_fallbacks(monkeypatch, open_url):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "https://env.example.com")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "envuser")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "envpass")
    monkeypatch.setenv("MLFLOW_TRACKING_INSECURE_TLS", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", "/etc/ca.pem")
    monkeypatch.setenv("MLFLOW_TRACKING_CLIENT_CERT_PATH", "/etc/client.pem")
    open_url.return_value = Response("3.17.2")
    client = make_client()
    client.version()
    kwargs = open_url.call_args[1]
    assert open_url.call_args[0][0] == "https://env.example.com/version"
    assert kwargs["validate_certs"] is False
    assert kwargs["ca_path"] == "/etc/ca.pem"
    assert kwargs["client_cert"] == "/etc/client.pem"
    assert sent_headers(open_url)["Authorization"] == "Basic " + base64.b64encode(b"envuser:envpass").decode()


def test_explicit_options_beat_environment(monkeypatch, open_url):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "https://env.example.com")
    monkeypatch.setenv("MLFLOW_TRACKING_INSECURE_TLS", "true")
    open_url.return_value = Response("3.17.2")
    client = make_client(tracking_uri="https://explicit.example.com", validate_certs=True, timeout=5)
    client.version()
    kwargs = open_url.call_args[1]
    assert open_url.call_args[0][0] == "https://explicit.example.com/version"
    assert kwargs["validate_certs"] is True
    assert kwargs["timeout"] == 5


@pytest.mark.parametrize("failure", [URLError("refused"), http_error(503, "busy"), http_error(429, ""),
                                     http_error(502, ""), http_error(504, "")])
def test_reads_retry_with_backoff(open_url, failure):
    open_url.side_effect = [failure, failure, Response({"registered_model": {"name": "m"}})]
    client = make_client()
    model = client.get_registered_model("m")
    assert model == {"name": "m"}
    assert open_url.call_count == 3
    assert client.sleeps == [1.0, 2.0]


def test_reads_give_up_after_the_retries(open_url):
    open_url.side_effect = URLError("connection refused")
    client = make_client(retries=2)
    with pytest.raises(MlflowApiError) as raised:
        client.get_registered_model("m")
    assert open_url.call_count == 3
    assert client.sleeps == [1.0, 2.0]
    assert "cannot reach" in str(raised.value)


def test_creates_are_not_retried(open_url):
    open_url.side_effect = [http_error(503, "busy"), Response({})]
    client = make_client()
    with pytest.raises(MlflowApiError) as raised:
        client.create_registered_model("m")
    assert open_url.call_count == 1
    assert client.sleeps == []
    assert raised.value.status == 503


def test_idempotent_writes_are_retried(open_url):
    open_url.side_effect = [URLError("reset"), Response({})]
    client = make_client()
    client.set_registered_model_tag("m", "k", "v")
    assert open_url.call_count == 2
    assert client.sleeps == [1.0]


def test_server_errors_are_not_retried(open_url):
    open_url.side_effect = http_error(500, json.dumps({"error_code": "INTERNAL_ERROR", "message": "boom"}))
    client = make_client()
    with pytest.raises(MlflowApiError) as raised:
        client.get_registered_model("m")
    assert open_url.call_count == 1
    assert raised.value.error_code == "INTERNAL_ERROR"


def test_missing_object_reads_as_none(open_url):
    body = json.dumps({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "not found"})
    open_url.side_effect = http_error(404, body)
    client = make_client()
    assert client.get_experiment_by_name("nope") is None


def test_missing_endpoint_is_an_error(open_url):
    open_url.side_effect = http_error(404, "<html>Not Found</html>")
    client = make_client()
    with pytest.raises(MlflowApiError) as raised:
        client.get_user("alice")
    assert raised.value.endpoint_missing
    assert "basic-auth app" in str(raised.value)


def test_mlflow_error_code_in_message(open_url):
    body = json.dumps({"error_code": "INVALID_PARAMETER_VALUE", "message": "Invalid alias name"})
    open_url.side_effect = http_error(400, body)
    client = make_client()
    with pytest.raises(MlflowApiError) as raised:
        client.set_alias("m", "latest", 1)
    message = str(raised.value)
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "POST /api/2.0/mlflow/registered-models/alias" in message
    assert "HTTP 400 INVALID_PARAMETER_VALUE" in message
    assert "Invalid alias name" in message


@pytest.mark.parametrize("status,hint", [(401, "authentication failed"), (403, "permission denied")])
def test_plain_text_auth_errors(open_url, status, hint):
    open_url.side_effect = http_error(status, "Permission denied")
    client = make_client()
    with pytest.raises(MlflowApiError) as raised:
        client.create_registered_model("m")
    assert raised.value.status == status
    assert raised.value.error_code is None
    assert hint in str(raised.value)


def test_password_hashes_and_secrets_are_scrubbed(open_url):
    message = ("(sqlite3.IntegrityError) UNIQUE constraint failed: users.username\n"
               "[SQL: INSERT INTO users (username, password_hash, is_admin) VALUES (?, ?, ?)]\n"
               "[parameters: ('alice', 'scrypt:32768:8:1$abc$def', 0)]")
    open_url.side_effect = http_error(400, json.dumps({"error_code": "RESOURCE_ALREADY_EXISTS", "message": message}))
    client = make_client(auth_username="admin", auth_password="admin-secret-pw")
    with pytest.raises(MlflowApiError) as raised:
        client.create_user("alice", "alice-secret-pw")
    text = str(raised.value)
    assert raised.value.already_exists
    assert "scrypt" not in text
    assert "$abc$def" not in text
    assert "INSERT INTO" not in text
    assert "UNIQUE constraint failed" in text


def test_scrub_replaces_known_secrets_and_truncates():
    text = scrub("user pw-super-secret failed pbkdf2:sha256:600000$salt$hash " + "x" * 2000, ["pw-super-secret"])
    assert "pw-super-secret" not in text
    assert "pbkdf2" not in text
    assert text.endswith("...")
    assert len(text) < 1100


def test_pagination_follows_next_page_token(open_url):
    open_url.side_effect = [
        Response({"model_versions": [{"version": "1"}], "next_page_token": "tok2"}),
        Response({"model_versions": [{"version": "2"}]}),
    ]
    client = make_client()
    versions = client.search_model_versions("m", run_id="r1")
    second_url = open_url.call_args_list[1][0][0]
    assert [v["version"] for v in versions] == ["1", "2"]
    assert "page_token=tok2" in second_url
    assert "filter=name%3D%27m%27+AND+run_id%3D%27r1%27" in second_url


@pytest.mark.parametrize("status,expected", [(None, True), (401, False), (403, True)])
def test_check_password_authenticates_as_the_user(open_url, status, expected):
    if status:
        open_url.side_effect = http_error(status, "Unauthorized")
    else:
        open_url.return_value = Response({"user": {"username": "alice"}})
    client = make_client(auth_username="admin", auth_password="admin-pw")
    result = client.check_password("alice", "alice-password")
    header = sent_headers(open_url)["Authorization"]
    assert result is expected
    assert header == "Basic " + base64.b64encode(b"alice:alice-password").decode()


def test_own_password_change_sends_current_password(open_url):
    open_url.return_value = Response({})
    client = make_client(auth_username="admin", auth_password="old-password")
    client.update_user_password("admin", "new-password-1")
    body = json.loads(open_url.call_args[1]["data"])
    assert body == {"username": "admin", "password": "new-password-1", "current_password": "old-password"}


@pytest.mark.parametrize("version,api", [("3.17.2", "v3"), ("3.13.0", "v3"), ("3.12.4", "v2"), ("2.22.5", "v2"),
                                         ("3.18.0rc1", "v3")])
def test_permission_api_by_version(open_url, version, api):
    open_url.return_value = Response(version)
    client = make_client()
    assert client.permission_api() == api


def test_version_is_asked_once(open_url):
    open_url.return_value = Response("3.17.2\n")
    client = make_client()
    first, second = client.version(), client.version()
    assert first == second == "3.17.2"
    assert open_url.call_count == 1


def test_server_info_absent_on_old_servers(open_url):
    open_url.side_effect = http_error(404, "Not Found")
    client = make_client()
    assert client.server_info() is None


def test_tracking_uri_must_be_http():
    with patch_module_args({"tracking_uri": "databricks"}):
        module = AnsibleModule(argument_spec=mlflow_argument_spec())
    with mock.patch.object(module, "fail_json", side_effect=SystemExit) as fail:
        with pytest.raises(SystemExit):
            MlflowClient(module)
    assert "http:// or https://" in fail.call_args[1]["msg"]


def test_parse_version():
    assert parse_version("3.17.2") == (3, 17, 2)
    assert parse_version("3.18.0rc1") == (3, 18, 0)
    assert parse_version("garbage") == (0,)


def test_secrets_are_no_log():
    spec = mlflow_argument_spec()
    assert spec["auth_password"]["no_log"] is True
    assert spec["auth_token"]["no_log"] is True
