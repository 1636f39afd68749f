# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private REST client for the MLflow tracking server and its basic-auth app.

Everything that talks HTTP lives here: the shared connection options, one request method with
retries, authentication, pagination and error translation, and one method per endpoint.
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import time
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.urls import open_url
from ansible_collections.mlops.mlflow.plugins.module_utils.versions import FEATURES, parse_version

API_2 = "/api/2.0/mlflow/"
API_3 = "/api/3.0/mlflow/"

# Statuses worth retrying: the server or a proxy in front of it is busy or restarting.
RETRY_STATUSES = frozenset((429, 502, 503, 504))
BACKOFF_MAX = 30.0

# MLflow versions from which the unified permission API replaces the per-resource one.
PERMISSIONS_V3_SINCE = FEATURES["permissions_v3"]

# Server messages that could carry secrets: SQLAlchemy echoes statements and their parameters
# (a duplicate user error contains the INSERT with the password hash), and werkzeug hashes.
_SECRET_PATTERNS = (
    re.compile(r"\[SQL:.*?\](?=\s*(\[|\(|$))", re.DOTALL),
    re.compile(r"\[parameters:.*?\](?=\s*(\[|\(|$))", re.DOTALL),
    re.compile(r"(pbkdf2|scrypt|argon2|bcrypt)[:$][^\s'\",)]+"),
)
_MESSAGE_MAX = 1000


def mlflow_argument_spec(**module_options):
    """Return the connection options every module shares, merged with the module's own."""
    spec = dict(
        tracking_uri=dict(type="str", default="http://127.0.0.1:5000", aliases=["url"],
                          fallback=(env_fallback, ["MLFLOW_TRACKING_URI"])),
        auth_username=dict(type="str", fallback=(env_fallback, ["MLFLOW_TRACKING_USERNAME"])),
        auth_password=dict(type="str", no_log=True, fallback=(env_fallback, ["MLFLOW_TRACKING_PASSWORD"])),
        auth_token=dict(type="str", no_log=True, fallback=(env_fallback, ["MLFLOW_TRACKING_TOKEN"])),
        validate_certs=dict(type="bool"),
        ca_path=dict(type="path", fallback=(env_fallback, ["MLFLOW_TRACKING_SERVER_CERT_PATH"])),
        client_cert=dict(type="path", fallback=(env_fallback, ["MLFLOW_TRACKING_CLIENT_CERT_PATH"])),
        client_key=dict(type="path", no_log=False),
        timeout=dict(type="float", default=30),
        retries=dict(type="int", default=3),
    )
    spec.update(module_options)
    return spec


def scrub(text, secrets=()):
    """Remove secrets and statement dumps from a server message, and shorten it."""
    text = to_text(text or "")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub("[hidden]", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "********")
    text = text.strip()
    if len(text) > _MESSAGE_MAX:
        text = text[:_MESSAGE_MAX] + "..."
    return text


class MlflowApiError(Exception):
    """An HTTP or connection failure, with MLflow's error code when the server gave one."""

    def __init__(self, message, status=None, error_code=None, method=None, path=None):
        super(MlflowApiError, self).__init__(message)
        self.message = message
        self.status = status
        self.error_code = error_code
        self.method = method
        self.path = path

    @property
    def not_found(self):
        return self.status == 404

    @property
    def already_exists(self):
        return self.error_code == "RESOURCE_ALREADY_EXISTS"

    @property
    def endpoint_missing(self):
        """True when the route itself does not exist (an older server or no auth app)."""
        return self.status == 404 and self.error_code in (None, "ENDPOINT_NOT_FOUND")

    def __str__(self):
        where = "%s %s" % (self.method, self.path) if self.method else ""
        status = "HTTP %s" % self.status if self.status else "no response"
        code = " %s" % self.error_code if self.error_code else ""
        return "MLflow %s failed (%s%s): %s" % (where, status, code, self.message)


def _error_text(status, body):
    """Build the readable part of an error from a response body, JSON or plain text."""
    try:
        payload = json.loads(body) if body else {}
    except ValueError:
        payload = None
    if isinstance(payload, dict) and (payload.get("error_code") or payload.get("message")):
        return payload.get("error_code"), payload.get("message") or ""
    text = to_text(body or "").strip()
    hints = {
        401: "authentication failed: check username and password, or token",
        403: "permission denied for this user",
    }
    if status in hints:
        return None, "%s (%s)" % (hints[status], text or "no body")
    if status == 404:
        return None, ("no such endpoint: the server runs an MLflow version without it, or without "
                      "the basic-auth app (%s)" % (text[:200] or "no body"))
    return None, text or "empty response"


class MlflowClient(object):
    """Every MLflow endpoint the modules use, through one request method."""

    def __init__(self, module, sleep=time.sleep):
        self.module = module
        self._sleep = sleep
        params = module.params
        self.base_url = params["tracking_uri"].rstrip("/")
        if not re.match(r"^https?://", self.base_url):
            module.fail_json(msg="tracking_uri must be an http:// or https:// URL, got %r" % params["tracking_uri"])
        self.username = params.get("auth_username")
        self.password = params.get("auth_password")
        self.token = params.get("auth_token")
        validate_certs = params.get("validate_certs")
        if validate_certs is None:
            insecure = module.boolean(os.environ.get("MLFLOW_TRACKING_INSECURE_TLS") or "false")
            validate_certs = not insecure
        self.validate_certs = validate_certs
        self.ca_path = params.get("ca_path")
        self.client_cert = params.get("client_cert")
        self.client_key = params.get("client_key")
        self.timeout = params.get("timeout") or 30
        self.retries = max(params.get("retries") or 0, 0)
        self._secrets = [s for s in (self.password, self.token) if s]
        self._version = None

    # -- transport -------------------------------------------------------------------------

    def _auth_header(self, credentials=None):
        username, password = credentials or (self.username, self.password)
        if username and password:
            raw = ("%s:%s" % (username, password)).encode("utf-8")
            return "Basic " + to_text(base64.b64encode(raw))
        if self.token and credentials is None:
            return "Bearer " + self.token
        return None

    def request(self, method, path, params=None, body=None, idempotent=None, raw=False,
                credentials=None, anonymous=False, secrets=()):
        """Send one request and return the decoded JSON (or text when raw is true).

        Reads, and writes the caller marks as idempotent, are retried with exponential backoff on
        connection errors and on 429/502/503/504. Failures raise MlflowApiError, with any secret
        the caller names scrubbed from the server's message.
        """
        url = self.base_url + path
        if params:
            url += "?" + urlencode([(k, v) for k, v in params.items() if v is not None], doseq=True)
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        authorization = None if anonymous else self._auth_header(credentials)
        if authorization:
            headers["Authorization"] = authorization
        if idempotent is None:
            idempotent = method == "GET"
        attempts = self.retries + 1 if idempotent else 1
        hide = list(self._secrets) + [s for s in secrets if s]
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = open_url(
                    url, data=data, headers=headers, method=method, timeout=self.timeout,
                    validate_certs=self.validate_certs, ca_path=self.ca_path,
                    client_cert=self.client_cert, client_key=self.client_key,
                    follow_redirects="safe", use_netrc=False, http_agent="mlops.mlflow",
                )
                text = to_text(response.read())
            except HTTPError as exc:
                body_text = _read_error_body(exc)
                if exc.code in RETRY_STATUSES and not last:
                    self._backoff(attempt)
                    continue
                error_code, message = _error_text(exc.code, body_text)
                raise MlflowApiError(scrub(message, hide), status=exc.code, error_code=error_code,
                                     method=method, path=path)
            except (URLError, socket.timeout, ConnectionError) as exc:
                if not last:
                    self._backoff(attempt)
                    continue
                reason = getattr(exc, "reason", exc)
                raise MlflowApiError("cannot reach %s: %s" % (self.base_url, scrub(str(reason), hide)),
                                     method=method, path=path)
            if raw:
                return text
            try:
                return json.loads(text) if text.strip() else {}
            except ValueError:
                raise MlflowApiError("the server did not answer with JSON: %s" % scrub(text[:200], hide),
                                     method=method, path=path)
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt):
        self._sleep(min(BACKOFF_MAX, 2.0 ** attempt))

    def _paginate(self, method, path, key, params, page_size_key="max_results"):
        """Collect every item of a paginated search, following next_page_token."""
        items = []
        token = None
        while True:
            query = dict(params)
            if token:
                query["page_token"] = token
            if method == "GET":
                page = self.request("GET", path, params=query)
            else:
                page = self.request(method, path, body=query, idempotent=True)
            items.extend(page.get(key) or [])
            token = page.get("next_page_token")
            if not token:
                return items

    def _get_or_none(self, path, key, params):
        """GET one object, None when the server says it does not exist."""
        try:
            return self.request("GET", API_2 + path, params=params).get(key)
        except MlflowApiError as exc:
            if exc.not_found and not exc.endpoint_missing:
                return None
            raise

    # -- server ----------------------------------------------------------------------------

    def health(self):
        return self.request("GET", "/health", raw=True, anonymous=True).strip()

    def version(self, cached=True):
        """The server's MLflow version string; asked once per module run unless cached is false."""
        if self._version is None or not cached:
            self._version = self.request("GET", "/version", raw=True).strip()
        return self._version

    def auth_required(self):
        """True when the server refuses anonymous requests to /version (basic-auth or a proxy)."""
        try:
            self.request("GET", "/version", raw=True, anonymous=True)
        except MlflowApiError as exc:
            if exc.status == 401:
                return True
            raise
        return False

    def server_info(self):
        """The /api/3.0/mlflow/server-info document (3.10+), None on older servers."""
        try:
            return self.request("GET", API_3 + "server-info")
        except MlflowApiError as exc:
            if exc.not_found:
                return None
            raise

    def permission_api(self):
        """'v3' when the server has the unified permission API (3.13+), else 'v2'."""
        return "v3" if parse_version(self.version()) >= PERMISSIONS_V3_SINCE else "v2"

    # -- experiments -----------------------------------------------------------------------

    def get_experiment_by_name(self, name):
        """The experiment named so, deleted ones included, or None."""
        return self._get_or_none("experiments/get-by-name", "experiment", {"experiment_name": name})

    def get_experiment(self, experiment_id):
        return self._get_or_none("experiments/get", "experiment", {"experiment_id": experiment_id})

    def create_experiment(self, name, artifact_location=None, tags=None):
        body = {"name": name, "tags": dict_to_tags(tags or {})}
        if artifact_location:
            body["artifact_location"] = artifact_location
        return self.request("POST", API_2 + "experiments/create", body=body)["experiment_id"]

    def restore_experiment(self, experiment_id):
        self.request("POST", API_2 + "experiments/restore", body={"experiment_id": experiment_id})

    def delete_experiment(self, experiment_id):
        self.request("POST", API_2 + "experiments/delete", body={"experiment_id": experiment_id})

    def set_experiment_tag(self, experiment_id, key, value):
        self.request("POST", API_2 + "experiments/set-experiment-tag", idempotent=True,
                     body={"experiment_id": experiment_id, "key": key, "value": value})

    def delete_experiment_tag(self, experiment_id, key):
        try:
            self.request("POST", API_2 + "experiments/delete-experiment-tag", idempotent=True,
                         body={"experiment_id": experiment_id, "key": key})
        except MlflowApiError as exc:
            if exc.endpoint_missing:
                raise MlflowApiError("this MLflow server cannot delete experiment tags (MLflow 3.0+ can); "
                                     "set purge_tags=false or remove tag %r by hand" % key,
                                     status=exc.status, method=exc.method, path=exc.path)
            raise

    # -- registered models -----------------------------------------------------------------

    def get_registered_model(self, name):
        return self._get_or_none("registered-models/get", "registered_model", {"name": name})

    def create_registered_model(self, name, description=None, tags=None):
        body = {"name": name, "tags": dict_to_tags(tags or {})}
        if description:
            body["description"] = description
        return self.request("POST", API_2 + "registered-models/create", body=body)["registered_model"]

    def update_registered_model(self, name, description):
        self.request("PATCH", API_2 + "registered-models/update", idempotent=True,
                     body={"name": name, "description": description})

    def delete_registered_model(self, name):
        self.request("DELETE", API_2 + "registered-models/delete", body={"name": name})

    def set_registered_model_tag(self, name, key, value):
        self.request("POST", API_2 + "registered-models/set-tag", idempotent=True,
                     body={"name": name, "key": key, "value": value})

    def delete_registered_model_tag(self, name, key):
        self.request("DELETE", API_2 + "registered-models/delete-tag", idempotent=True,
                     body={"name": name, "key": key})

    def set_alias(self, name, alias, version):
        self.request("POST", API_2 + "registered-models/alias", idempotent=True,
                     body={"name": name, "alias": alias, "version": str(version)})

    def delete_alias(self, name, alias):
        self.request("DELETE", API_2 + "registered-models/alias", idempotent=True,
                     body={"name": name, "alias": alias})

    # -- model versions --------------------------------------------------------------------

    def search_model_versions(self, name, run_id=None):
        """Every version of a registered model, optionally only those made from one run."""
        query = "name=%s" % _quote(name)
        if run_id:
            query += " AND run_id=%s" % _quote(run_id)
        return self._paginate("GET", API_2 + "model-versions/search", "model_versions",
                              {"filter": query, "max_results": 10000})

    def get_model_version(self, name, version):
        return self._get_or_none("model-versions/get", "model_version", {"name": name, "version": str(version)})

    def create_model_version(self, name, source, run_id=None, description=None, tags=None, run_link=None):
        body = {"name": name, "source": source, "tags": dict_to_tags(tags or {})}
        for key, value in (("run_id", run_id), ("description", description), ("run_link", run_link)):
            if value:
                body[key] = value
        return self.request("POST", API_2 + "model-versions/create", body=body)["model_version"]

    def update_model_version(self, name, version, description):
        self.request("PATCH", API_2 + "model-versions/update", idempotent=True,
                     body={"name": name, "version": str(version), "description": description})

    def transition_model_version_stage(self, name, version, stage, archive_existing_versions=False):
        self.request("POST", API_2 + "model-versions/transition-stage", idempotent=True,
                     body={"name": name, "version": str(version), "stage": stage,
                           "archive_existing_versions": archive_existing_versions})

    def set_model_version_tag(self, name, version, key, value):
        self.request("POST", API_2 + "model-versions/set-tag", idempotent=True,
                     body={"name": name, "version": str(version), "key": key, "value": value})

    def delete_model_version_tag(self, name, version, key):
        self.request("DELETE", API_2 + "model-versions/delete-tag", idempotent=True,
                     body={"name": name, "version": str(version), "key": key})

    def delete_model_version(self, name, version):
        self.request("DELETE", API_2 + "model-versions/delete", body={"name": name, "version": str(version)})

    # -- users (basic-auth app) ------------------------------------------------------------

    def get_user(self, username):
        return self._get_or_none("users/get", "user", {"username": username})

    def create_user(self, username, password):
        self.request("POST", API_2 + "users/create", body={"username": username, "password": password},
                     secrets=[password])

    def update_user_password(self, username, password):
        body = {"username": username, "password": password}
        if username == self.username and self.password:
            # MLflow 3.13+ wants the current password when users change their own.
            body["current_password"] = self.password
        self.request("PATCH", API_2 + "users/update-password", body=body, idempotent=True, secrets=[password])

    def update_user_admin(self, username, is_admin):
        self.request("PATCH", API_2 + "users/update-admin", idempotent=True,
                     body={"username": username, "is_admin": is_admin})

    def delete_user(self, username):
        self.request("DELETE", API_2 + "users/delete", body={"username": username})

    def check_password(self, username, password):
        """Whether the server accepts these credentials, found by authenticating as that user.

        The stored password is never read: the user asks for their own record, which any
        authenticated user may do. 401 means the password is wrong.
        """
        try:
            self.request("GET", API_2 + "users/get", params={"username": username},
                         credentials=(username, password), secrets=[password])
        except MlflowApiError as exc:
            if exc.status == 401:
                return False
            if exc.status == 403:
                return True
            raise
        return True

    # -- permissions, MLflow 2.x to 3.12 (per resource) ------------------------------------

    def get_permission_v2(self, kind, resource_id, username):
        path, id_key, key = _V2_PERMISSIONS[kind]
        return self._get_or_none(path + "get", key, {id_key: resource_id, "username": username})

    def set_permission_v2(self, kind, resource_id, username, permission, exists):
        path, id_key, key = _V2_PERMISSIONS[kind]
        body = {id_key: resource_id, "username": username, "permission": permission}
        if exists:
            self.request("PATCH", API_2 + path + "update", body=body, idempotent=True)
        else:
            self.request("POST", API_2 + path + "create", body=body)

    def delete_permission_v2(self, kind, resource_id, username):
        path, id_key, key = _V2_PERMISSIONS[kind]
        self.request("DELETE", API_2 + path + "delete", body={id_key: resource_id, "username": username})

    # -- permissions, MLflow 3.13+ (unified, role based) -----------------------------------

    def list_user_permissions_v3(self, username):
        return self.request("GET", API_3 + "users/permissions/list", params={"username": username}).get(
            "permissions") or []

    def grant_permission_v3(self, kind, resource_id, username, permission):
        self.request("POST", API_3 + "users/permissions/grant",
                     body={"username": username, "resource_type": kind, "resource_id": resource_id,
                           "permission": permission})

    def revoke_permission_v3(self, kind, resource_id, username):
        self.request("POST", API_3 + "users/permissions/revoke",
                     body={"username": username, "resource_type": kind, "resource_id": resource_id})

    def list_role_permissions_v3(self, role_id):
        return self.request("GET", API_3 + "roles/permissions/list", params={"role_id": role_id}).get(
            "role_permissions") or []

    def update_role_permission_v3(self, role_permission_id, permission):
        self.request("PATCH", API_3 + "roles/permissions/update", idempotent=True,
                     body={"role_permission_id": role_permission_id, "permission": permission})


# Per-resource permission endpoints of MLflow <= 3.12: (path, id field, response key).
_V2_PERMISSIONS = {
    "experiment": ("experiments/permissions/", "experiment_id", "experiment_permission"),
    "registered_model": ("registered-models/permissions/", "name", "registered_model_permission"),
}


def _read_error_body(exc):
    try:
        return to_text(exc.read())
    except Exception:  # the body of an error response may be gone already
        return ""


def _quote(value):
    """Quote a value for an MLflow search filter."""
    value = to_text(value)
    if "'" not in value:
        return "'%s'" % value
    return '"%s"' % value.replace('"', '\\"')


def tags_to_dict(tags):
    """[{key, value}] (MLflow's wire format) to {key: value}."""
    return dict((tag["key"], tag.get("value", "")) for tag in tags or [])


def dict_to_tags(tags):
    return [{"key": key, "value": value} for key, value in sorted(tags.items())]
