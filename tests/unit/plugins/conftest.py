# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the plugin unit tests: an importable collection, module runs, a fake MLflow."""

from __future__ import annotations

import sys
from pathlib import Path
from unittest import mock

import pytest


def _make_collection_importable():
    """Put a tree holding ansible_collections/mlops/mlflow on sys.path (ansible-test does its own)."""
    repo = Path(__file__).resolve().parents[3]
    if repo.parent.name == "mlops" and repo.parent.parent.name == "ansible_collections":
        root = repo.parents[2]
    else:
        root = repo / ".cache" / "collections"
        link = root / "ansible_collections" / "mlops" / "mlflow"
        if not link.exists():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(repo)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))


_make_collection_importable()

# pylint: disable=wrong-import-position
from ansible.module_utils import basic  # noqa: E402
from ansible.module_utils.testing import patch_module_args  # noqa: E402

from ansible_collections.mlops.mlflow.plugins.module_utils import client as client_module  # noqa: E402
from ansible_collections.mlops.mlflow.plugins.module_utils.client import MlflowApiError, parse_version  # noqa: E402


class ModuleExit(Exception):
    """Raised instead of exiting the process, carrying the module's result."""

    def __init__(self, result):
        super(ModuleExit, self).__init__(result)
        self.result = result


def _exit_json(self, **kwargs):
    raise ModuleExit(dict(kwargs, failed=False))


def _fail_json(self, msg, **kwargs):
    raise ModuleExit(dict(kwargs, msg=msg, failed=True))


class ModuleRunner(object):
    """Run a module's main() against the fake server and return its result."""

    def __init__(self, fake):
        self.fake = fake

    def __call__(self, main, args, check_mode=False, diff=True):
        args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
        args.setdefault("tracking_uri", "http://mlflow.test")
        self.fake.writes = []
        warnings = []
        try:
            with patch_module_args(args), \
                    mock.patch.object(basic.AnsibleModule, "exit_json", _exit_json), \
                    mock.patch.object(basic.AnsibleModule, "fail_json", _fail_json), \
                    mock.patch.object(basic.AnsibleModule, "warn", lambda self, text: warnings.append(text)), \
                    mock.patch.object(client_module.MlflowClient, "request", self.fake.request), \
                    mock.patch("time.sleep", lambda seconds: None):
                main()
        except ModuleExit as exc:
            return dict(exc.result, warnings=warnings)
        raise AssertionError("the module neither exited nor failed")


def _not_found(what):
    return MlflowApiError("%s not found" % what, status=404, error_code="RESOURCE_DOES_NOT_EXIST")


def _tags(values):
    return [{"key": k, "value": v} for k, v in sorted(values.items())]


class FakeMlflow(object):
    """An in-memory MLflow with the endpoints the modules use, in place of the HTTP layer.

    It records every non-GET request in `writes` as (method, path) so tests can assert that
    check mode and unchanged runs write nothing.
    """

    API2 = "/api/2.0/mlflow/"
    API3 = "/api/3.0/mlflow/"

    def __init__(self, version="3.17.2"):
        self.version = version
        self.healthy = True
        self.auth = True
        self.experiments = {}
        self.models = {}
        self.versions = {}
        self.users = {"admin": {"password": "admin-password", "is_admin": True, "id": 1}}
        self.grants = {}  # (username, resource_type, resource_id) -> permission
        self.writes = []
        self.calls = []
        self.failures = {}  # (method, path) -> list of MlflowApiError raised before answering

    def at_least(self, version):
        return parse_version(self.version) >= parse_version(version)

    # -- dispatch --------------------------------------------------------------------------

    def request(self, method, path, params=None, body=None, idempotent=None, raw=False,
                credentials=None, anonymous=False, secrets=()):
        self.calls.append((method, path, params, body, credentials))
        pending = self.failures.get((method, path))
        if pending:
            raise pending.pop(0)
        if method != "GET":
            self.writes.append((method, path))
        if credentials:
            user = self.users.get(credentials[0])
            if not user or user["password"] != credentials[1]:
                raise MlflowApiError("Unauthorized", status=401)
        if path == "/health":
            if not self.healthy:
                raise MlflowApiError("cannot reach", status=None)
            return "OK"
        if path == "/version":
            if anonymous and self.auth:
                raise MlflowApiError("Unauthorized", status=401)
            return self.version
        for prefix in (self.API2, self.API3):
            if path.startswith(prefix):
                name = "_" + path[len(prefix):].replace("/", "_").replace("-", "_")
                if prefix == self.API3:
                    name = "_v3" + name
                handler = getattr(self, "%s_%s" % (name, method.lower()), None) or getattr(self, name, None)
                if handler is None:
                    raise MlflowApiError("Not Found", status=404)
                return handler(dict(params or {}, **(body or {})))
        raise MlflowApiError("Not Found", status=404)

    # -- server info -----------------------------------------------------------------------

    def _v3_server_info(self, args):
        if not self.at_least("3.10"):
            raise MlflowApiError("Not Found", status=404)
        return {"store_type": "SqlStore"}

    # -- experiments -----------------------------------------------------------------------

    def add_experiment(self, name, tags=None, lifecycle_stage="active", artifact_location=None):
        experiment_id = str(len(self.experiments) + 1)
        self.experiments[experiment_id] = {
            "experiment_id": experiment_id, "name": name, "lifecycle_stage": lifecycle_stage,
            "artifact_location": artifact_location or "mlflow-artifacts:/%s" % experiment_id,
            "tags": dict(tags or {}),
        }
        return experiment_id

    def _experiment_json(self, experiment):
        return dict(experiment, tags=_tags(experiment["tags"]))

    def _experiments_get_by_name(self, args):
        for experiment in self.experiments.values():
            if experiment["name"] == args["experiment_name"]:
                return {"experiment": self._experiment_json(experiment)}
        raise _not_found("experiment")

    def _experiments_create(self, args):
        return {"experiment_id": self.add_experiment(
            args["name"], dict((t["key"], t["value"]) for t in args.get("tags", [])),
            artifact_location=args.get("artifact_location"))}

    def _experiments_restore(self, args):
        self.experiments[args["experiment_id"]]["lifecycle_stage"] = "active"
        return {}

    def _experiments_delete(self, args):
        self.experiments[args["experiment_id"]]["lifecycle_stage"] = "deleted"
        return {}

    def _experiments_set_experiment_tag(self, args):
        self.experiments[args["experiment_id"]]["tags"][args["key"]] = args["value"]
        return {}

    def _experiments_delete_experiment_tag(self, args):
        if not self.at_least("3"):
            raise MlflowApiError("Not Found", status=404)
        del self.experiments[args["experiment_id"]]["tags"][args["key"]]
        return {}

    # -- registered models and versions ----------------------------------------------------

    def add_model(self, name, description="", tags=None, aliases=None):
        self.models[name] = {"name": name, "description": description, "tags": dict(tags or {}),
                             "aliases": dict(aliases or {})}

    def _model(self, name):
        if name not in self.models:
            raise _not_found("registered model")
        return self.models[name]

    def _model_json(self, model):
        aliases = [{"alias": a, "version": v} for a, v in sorted(model["aliases"].items())]
        return dict(model, tags=_tags(model["tags"]), aliases=aliases)

    def _registered_models_get(self, args):
        return {"registered_model": self._model_json(self._model(args["name"]))}

    def _registered_models_create(self, args):
        self.add_model(args["name"], args.get("description", ""),
                       dict((t["key"], t["value"]) for t in args.get("tags", [])))
        return {"registered_model": self._model_json(self.models[args["name"]])}

    def _registered_models_update(self, args):
        self._model(args["name"])["description"] = args["description"]
        return {}

    def _registered_models_delete(self, args):
        self._model(args["name"])
        del self.models[args["name"]]
        return {}

    def _registered_models_set_tag(self, args):
        self._model(args["name"])["tags"][args["key"]] = args["value"]
        return {}

    def _registered_models_delete_tag(self, args):
        del self._model(args["name"])["tags"][args["key"]]
        return {}

    def _registered_models_alias_post(self, args):
        self._mv(args["name"], args["version"])
        self._model(args["name"])["aliases"][args["alias"]] = args["version"]
        return {}

    def _registered_models_alias_delete(self, args):
        self._model(args["name"])["aliases"].pop(args["alias"], None)
        return {}

    def add_version(self, name, source, run_id="", **extra):
        number = str(1 + sum(1 for key in self.versions if key[0] == name))
        self.versions[(name, number)] = dict(
            {"name": name, "version": number, "source": source, "run_id": run_id, "status": "READY",
             "current_stage": "None", "description": "", "tags": {}}, **extra)
        return number

    def _mv(self, name, version):
        if (name, str(version)) not in self.versions:
            raise _not_found("model version")
        return self.versions[(name, str(version))]

    def _mv_json(self, mv):
        aliases = sorted(a for a, v in self.models.get(mv["name"], {}).get("aliases", {}).items()
                         if v == mv["version"])
        return dict(mv, tags=_tags(mv["tags"]), aliases=aliases)

    def _model_versions_search(self, args):
        query = args["filter"]
        found = [mv for key, mv in sorted(self.versions.items()) if "name='%s'" % key[0] in query
                 and ("run_id=" not in query or "run_id='%s'" % mv["run_id"] in query)]
        # Like the server, search results carry no aliases; two per page to exercise pagination.
        start = int(args.get("page_token") or 0)
        page = {"model_versions": [dict(mv, tags=_tags(mv["tags"])) for mv in found[start:start + 2]]}
        if start + 2 < len(found):
            page["next_page_token"] = str(start + 2)
        return page

    def _model_versions_get(self, args):
        return {"model_version": self._mv_json(self._mv(args["name"], args["version"]))}

    def _model_versions_create(self, args):
        self._model(args["name"])
        number = self.add_version(args["name"], args["source"], args.get("run_id", ""),
                                  description=args.get("description", ""), status="PENDING_REGISTRATION")
        mv = self.versions[(args["name"], number)]
        mv["tags"] = dict((t["key"], t["value"]) for t in args.get("tags", []))
        answer = self._mv_json(mv)
        mv["status"] = "READY"
        return {"model_version": answer}

    def _model_versions_update(self, args):
        self._mv(args["name"], args["version"])["description"] = args["description"]
        return {}

    def _model_versions_transition_stage(self, args):
        self._mv(args["name"], args["version"])["current_stage"] = args["stage"]
        return {}

    def _model_versions_set_tag(self, args):
        self._mv(args["name"], args["version"])["tags"][args["key"]] = args["value"]
        return {}

    def _model_versions_delete_tag(self, args):
        del self._mv(args["name"], args["version"])["tags"][args["key"]]
        return {}

    def _model_versions_delete(self, args):
        self._mv(args["name"], args["version"])
        del self.versions[(args["name"], args["version"])]
        return {}

    # -- users -----------------------------------------------------------------------------

    def _user(self, username):
        if username not in self.users:
            raise _not_found("user")
        return self.users[username]

    def _users_get(self, args):
        user = self._user(args["username"])
        answer = {"id": user["id"], "username": args["username"], "is_admin": user["is_admin"]}
        if not self.at_least("3"):
            answer["experiment_permissions"] = [
                {"experiment_id": rid, "permission": p} for (u, kind, rid), p in self.grants.items()
                if u == args["username"] and kind == "experiment"]
            answer["registered_model_permissions"] = [
                {"name": rid, "permission": p} for (u, kind, rid), p in self.grants.items()
                if u == args["username"] and kind == "registered_model"]
        return {"user": answer}

    def _users_create(self, args):
        if args["username"] in self.users:
            raise MlflowApiError("UNIQUE constraint failed [SQL: INSERT INTO users] [parameters: "
                                 "('%s', 'pbkdf2:sha256:600000$x$y')]" % args["username"],
                                 status=400, error_code="RESOURCE_ALREADY_EXISTS")
        self.users[args["username"]] = {"password": args["password"], "is_admin": False, "id": len(self.users) + 1}
        return {"user": {"username": args["username"]}}

    def _users_update_password(self, args):
        self._user(args["username"])["password"] = args["password"]
        return {}

    def _users_update_admin(self, args):
        self._user(args["username"])["is_admin"] = args["is_admin"]
        return {}

    def _users_delete(self, args):
        self._user(args["username"])
        if not self.at_least("3") and any(key[0] == args["username"] for key in self.grants):
            raise MlflowApiError("NOT NULL constraint failed", status=400, error_code="BAD_REQUEST")
        del self.users[args["username"]]
        return {}

    # -- permissions before 3.13 -----------------------------------------------------------

    def _v2_permission(self, kind, args, action):
        if self.at_least("3.13"):
            raise MlflowApiError("Not Found", status=404)
        rid = args.get("experiment_id") or args.get("name")
        key = (args["username"], kind, rid)
        if action == "get":
            if key not in self.grants:
                raise _not_found("permission")
            id_key = "experiment_id" if kind == "experiment" else "name"
            return {kind + "_permission": {id_key: rid, "permission": self.grants[key], "user_id": 2}}
        if action == "delete":
            del self.grants[key]
        else:
            self.grants[key] = args["permission"]
        return {}

    def _experiments_permissions_get(self, args):
        return self._v2_permission("experiment", args, "get")

    def _experiments_permissions_create(self, args):
        return self._v2_permission("experiment", args, "create")

    def _experiments_permissions_update(self, args):
        return self._v2_permission("experiment", args, "update")

    def _experiments_permissions_delete(self, args):
        return self._v2_permission("experiment", args, "delete")

    def _registered_models_permissions_get(self, args):
        return self._v2_permission("registered_model", args, "get")

    def _registered_models_permissions_create(self, args):
        return self._v2_permission("registered_model", args, "create")

    def _registered_models_permissions_update(self, args):
        return self._v2_permission("registered_model", args, "update")

    def _registered_models_permissions_delete(self, args):
        return self._v2_permission("registered_model", args, "delete")

    # -- permissions 3.13+ -----------------------------------------------------------------

    def _v3_users_permissions_list(self, args):
        user = self._user(args["username"])
        rows = [{"resource_type": kind, "resource_pattern": rid, "permission": p, "role_id": 10 + user["id"],
                 "role_name": "__user_%d__" % user["id"]}
                for (u, kind, rid), p in sorted(self.grants.items()) if u == args["username"]]
        return {"is_admin": user["is_admin"], "permissions": rows}

    def _v3_users_permissions_grant(self, args):
        key = (args["username"], args["resource_type"], args["resource_id"])
        if key in self.grants:
            raise MlflowApiError("exists", status=400, error_code="RESOURCE_ALREADY_EXISTS")
        self.grants[key] = args["permission"]
        return {}

    def _v3_users_permissions_revoke(self, args):
        key = (args["username"], args["resource_type"], args["resource_id"])
        if key not in self.grants:
            raise _not_found("permission")
        del self.grants[key]
        return {}

    def _v3_roles_permissions_list(self, args):
        rows = []
        for index, ((username, kind, rid), permission) in enumerate(sorted(self.grants.items())):
            if 10 + self.users[username]["id"] == int(args["role_id"]):
                rows.append({"id": index, "role_id": args["role_id"], "resource_type": kind,
                             "resource_pattern": rid, "permission": permission})
        return {"role_permissions": rows}

    def _v3_roles_permissions_update(self, args):
        key = sorted(self.grants)[args["role_permission_id"]]
        self.grants[key] = args["permission"]
        return {}


@pytest.fixture
def fake():
    return FakeMlflow()


@pytest.fixture
def run_module(fake, monkeypatch):
    """run_module(main, args, check_mode=False) -> the module's result dict (failed=True on failure)."""
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD",
                 "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_INSECURE_TLS"):
        monkeypatch.delenv(name, raising=False)
    return ModuleRunner(fake)
