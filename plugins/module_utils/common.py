# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The flow every object module follows, and the comparison helpers it needs.

read the object -> build the desired state from the options the user set -> compare the two
views (only fields the module manages) -> exit unchanged, or set the diff -> stop in check mode
-> write -> re-read -> return the server's view under the object's name.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mlops.mlflow.plugins.module_utils.client import (
    MlflowApiError,
    MlflowClient,
    mlflow_argument_spec,
)

# Tag keys MLflow sets itself; purge_tags leaves them alone.
RESERVED_TAG_PREFIX = "mlflow."


def normalize_map(values):
    """Tag and alias maps as the server stores them: strings to strings."""
    if values is None:
        return None
    return dict((str(key), str(value)) for key, value in values.items())


def merge_map(have, desired, purge, keep=lambda key: False):
    """The map an object should end with: desired entries win, others stay unless purged.

    Entries for which keep(key) is true survive a purge (MLflow's own tags).
    """
    if desired is None:
        return dict(have)
    result = dict((key, value) for key, value in have.items() if not purge or keep(key))
    result.update(desired)
    return result


def map_changes(have, want):
    """(entries to set, keys to delete) that turn have into want."""
    to_set = dict((key, value) for key, value in want.items() if have.get(key) != value)
    to_delete = sorted(key for key in have if key not in want)
    return to_set, to_delete


def is_reserved_tag(key):
    return key.startswith(RESERVED_TAG_PREFIX)


def merge_tags(have, desired, purge):
    """Tags after applying the user's tags; purge spares the mlflow.* tags."""
    return merge_map(have, normalize_map(desired), purge, keep=is_reserved_tag)


def tags_argument_spec():
    """The tags and purge_tags options (doc fragment mlops.mlflow.mlflow.tags)."""
    return dict(
        tags=dict(type="dict"),
        purge_tags=dict(type="bool", default=True),
    )


def apply_map(have, want, set_one, delete_one):
    """Call set_one(key, value) and delete_one(key) for each difference between two maps."""
    to_set, to_delete = map_changes(have, want)
    for key in to_delete:
        delete_one(key)
    for key, value in sorted(to_set.items()):
        set_one(key, value)


class MlflowModule(object):
    """Base of the object modules. Subclasses set result_key and implement the hooks below."""

    result_key = None
    module_kwargs = {}

    def __init__(self, argument_spec, **module_kwargs):
        kwargs = dict(self.module_kwargs)
        kwargs.update(module_kwargs)
        self.module = AnsibleModule(argument_spec=mlflow_argument_spec(**argument_spec),
                                    supports_check_mode=True, **kwargs)
        self.params = self.module.params
        self.client = MlflowClient(self.module)
        self.found = None  # what read() returned first, for desired() to consult

    # -- hooks -----------------------------------------------------------------------------

    def prepare(self):
        """Look up what the module needs before reading (runs inside the error handling)."""

    def read(self):
        """The object as the server has it, or None."""
        raise NotImplementedError

    def exists(self, obj):
        """Whether a read object counts as present (a deleted experiment does not)."""
        return obj is not None

    def view(self, obj):
        """The fields this module manages, as a dict that compares with the desired state."""
        raise NotImplementedError

    def desired(self, have):
        """The view the object should have, from the current view (None when absent)."""
        raise NotImplementedError

    def create(self, want, obj):
        """Make the object; obj is what read() found (None, or a deleted object)."""
        raise NotImplementedError

    def update(self, obj, have, want):
        raise NotImplementedError

    def delete(self, obj):
        raise NotImplementedError

    def result(self, obj):
        """What to return under result_key: the server's own representation."""
        return obj if obj is not None and self.exists(obj) else {}

    # -- flow ------------------------------------------------------------------------------

    def fail(self, msg, **kwargs):
        self.module.fail_json(msg=msg, **kwargs)

    def run(self):
        try:
            self._reconcile()
        except MlflowApiError as exc:
            self.fail(str(exc), status=exc.status, error_code=exc.error_code)

    def _reconcile(self):
        self.prepare()
        obj = self.found = self.read()
        present = obj is not None and self.exists(obj)
        have = self.view(obj) if present else None
        want = self.desired(have) if self.params.get("state", "present") == "present" else None
        if have == want:
            self._exit(False, obj)
        diff = dict(before=have or {}, after=want or {})
        if self.module.check_mode:
            self._exit(True, obj, diff)
        if want is None:
            self.delete(obj)
        elif not present:
            self.create(want, obj)
        else:
            self.update(obj, have, want)
        obj = self.read()
        if want is not None and obj is not None and self.exists(obj):
            diff["after"] = self.view(obj)
        self._exit(True, obj, diff)

    def _exit(self, changed, obj, diff=None):
        result = {"changed": changed, self.result_key: self.result(obj)}
        if diff is not None and self.module._diff:
            result["diff"] = diff
        self.module.exit_json(**result)
