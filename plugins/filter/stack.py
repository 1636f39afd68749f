# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: stack
short_description: The stack contract of one host, resolved across the whole inventory
version_added: 0.3.0
author:
  - mlops.mlflow developers (@mlops)
description:
  - Resolves every stack-wide input (the options of the C(mlops.mlflow.common) role) to one value for the
    whole stack, wherever in the inventory the user set it (all, a group, a host), and derives the facts
    that need other hosts (database address, S3 server and endpoint, proxy upstreams, public names,
    the networks PostgreSQL admits).
  - A stack-wide input set to different values on different hosts is reported in C(errors) instead.
  - Values of other roles' variables on other hosts (for example the S3 port of the store host) fall
    back to that role's C(defaults/main.yml), so every default is written once.
options:
  _input:
    description: The C(hostvars) of the play.
    type: dict
    required: true
  groups:
    description: The C(groups) of the play.
    type: dict
    required: true
  host:
    description: Inventory name of the host asking, usually C(inventory_hostname).
    type: string
    required: true
"""

EXAMPLES = r"""
- name: Resolve the stack contract for this host
  ansible.builtin.set_fact:
    __mlflow_stack: "{{ hostvars | mlops.mlflow.stack(groups, inventory_hostname) }}"
"""

RETURN = r"""
_value:
  description:
    - Every stack-wide input by name (C(mlflow_version), C(mlflow_db_host), ...), resolved for this host.
    - C(derived), the names of inputs nobody set that were derived here.
    - C(errors), one message per conflicting or unusable input, and per port of this host's services that
      is out of range or used twice on this host (PostgreSQL, the S3 store, MLflow, nginx).
    - C(features), the feature flags of the resolved C(mlflow_version) (see P(mlops.mlflow.mlflow_features#filter)).
    - Cross-host facts, C(db_address), C(s3_server), C(s3_server_ca), C(s3_via_proxy), C(s3_upstream),
      C(s3_upstream_tls), C(s3_upstream_ca), C(s3_upstream_server_name), C(upstreams), C(public_names),
      C(tracking_networks), C(s3_bind_ip) (where the store's S3 port listens).
    - Internal TLS (C(mlflow_internal_tls)), decided once for the whole stack from where the services run, C(db_tls)
      (PostgreSQL serves TLS), C(tracking_tls) (the tracking nodes serve TLS to the proxy) with
      C(tracking_tls_server_name) (the name every node's certificate carries and the proxy checks), and C(s3_tls) (the
      store serves TLS on its S3 port).
  type: dict
"""

import os

import yaml

from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.mlops.mlflow.plugins.filter.host_address import host_address
from ansible_collections.mlops.mlflow.plugins.module_utils.versions import TESTED, features, known_lines_text

ROLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "roles")
GROUPS = ("mlflow_db", "mlflow_s3", "mlflow_tracking", "mlflow_proxy")
# The one name in every tracking node's certificate that the proxy checks: nginx verifies a single
# name for a whole upstream group, and only DNS names (never an IP address).
TRACKING_TLS_SERVER_NAME = "mlflow-tracking"
_cache = {}


def _load(relative):
    if relative not in _cache:
        with open(os.path.join(ROLES, relative)) as handle:
            _cache[relative] = yaml.safe_load(handle) or {}
    return _cache[relative]


def contract():
    """The stack-wide inputs: name -> option of the common role's argument spec."""
    return _load("common/meta/argument_specs.yml")["argument_specs"]["main"]["options"]


def role_default(role, name):
    return _load(role + "/defaults/main.yml").get(name)


def _normalize(value, kind):
    if value is None:
        return value
    if kind == "int":
        return int(value)
    if kind == "bool":
        return boolean(value)
    if kind == "str":
        return str(value)
    return value


def _host_value(variables, name):
    """What the inventory sets for a host, ignoring what an earlier resolution derived for it."""
    if name not in variables:
        return False, None
    resolved = variables.get("__mlflow_stack") or {}
    if name in (resolved.get("derived") or ()):
        return False, None
    return True, variables[name]


def _other(stack, host, role, name):
    """A role variable on another host: its inventory value, else the role's default."""
    variables = stack.variables(host)
    if name in variables:
        return variables[name]
    default = role_default(role, name)
    # The templated defaults read across hosts: a name that defaults to the host's own, and the
    # collection CA's directory.
    if default == "{{ inventory_hostname }}":
        return host
    if default == "{{ mlflow_tls_ca_dir }}":
        return stack.values["mlflow_tls_ca_dir"]
    return default


def _set_on(stack, host, name):
    """A role variable the inventory sets on another host, or None: its default comes from the stack."""
    value = stack.variables(host).get(name)
    return None if value is None else boolean(value)


class _Stack(object):
    def __init__(self, hostvars, groups, host):
        self.hostvars = hostvars
        self.groups = groups
        self.host = host
        self.errors = []
        self.values = {}
        self.derived = []
        self.inventory_set = []
        members = [host]
        for group in GROUPS:
            for member in groups.get(group) or []:
                if member not in members:
                    members.append(member)
        self.members = members
        self._variables = {}

    def variables(self, host):
        # Each hostvars lookup assembles every variable of the host: once per host is enough.
        if host not in self._variables:
            self._variables[host] = self.hostvars[host] if host in self.hostvars else {}
        return self._variables[host]

    def group(self, name):
        return list(self.groups.get(name) or [])

    def address(self, other):
        return host_address(other, self.hostvars, self.host)

    def resolve(self):
        for name, option in contract().items():
            found = {}
            for member in self.members:
                is_set, value = _host_value(self.variables(member), name)
                if is_set:
                    try:
                        value = _normalize(value, option.get("type"))
                    except (TypeError, ValueError):
                        self.errors.append("%s on %s is %r, which is not of type %s." % (name, member, value, option.get("type")))
                        continue
                    found.setdefault(repr(value), (value, []))[1].append(member)
            if len(found) > 1:
                where = "; ".join("%s on %s" % (key, ", ".join(hosts)) for key, (value, hosts) in found.items())
                self.errors.append(
                    "%s is stack-wide but differs between hosts (%s): set it once, in group_vars/all." % (name, where))
            if found:
                self.values[name] = list(found.values())[0][0]
                self.inventory_set.append(name)
            else:
                self.values[name] = option.get("default")
                if name in DERIVED:
                    self.derived.append(name)
        for name in DERIVED:
            if name in self.derived:
                self.values[name] = DERIVED[name](self)
        return self

    def check_ports(self):
        """Every port the services of this host listen on: in range, and each used once."""
        used = {}
        for name, port, low in _host_ports(self, self.host):
            try:
                number = int(port)
            except (TypeError, ValueError):
                self.errors.append("%s on %s is %r, which is not a port number: set it to %d-65535." % (name, self.host, port, low))
                continue
            if not low <= number <= 65535:
                self.errors.append("%s on %s is %d, outside %d-65535: set it to a port in that range." % (name, self.host, number, low))
                continue
            used.setdefault(number, []).append(name)
        for number, names in sorted(used.items()):
            if len(names) > 1:
                self.errors.append(
                    "%s use the same port %d on %s: set %s to a free port." % (" and ".join(names), number, self.host, names[-1]))
        return self

    # --- Cross-host facts -----------------------------------------------------------------------
    def s3_host(self):
        hosts = self.group("mlflow_s3")
        return hosts[0] if hosts and self.values["mlflow_s3_store"] != "external" else ""

    def s3_server(self):
        """URL of the store server as this host reaches it directly."""
        s3_host = self.s3_host()
        if not s3_host:
            return ""
        scheme = "https" if self.s3_serves_tls() else "http"
        if self.values["mlflow_s3_store"] == "minio":
            return "%s://%s:%s" % (scheme, self.address(s3_host), _other(self, s3_host, "minio", "minio_api_port"))
        return "%s://%s:%s" % (scheme, self.address(s3_host), _other(self, s3_host, "seaweedfs", "seaweedfs_s3_port"))

    def s3_serves_tls(self):
        """The store's S3 port speaks TLS: as its host's inventory says, else as internal TLS decides."""
        s3_host = self.s3_host()
        if not s3_host:
            return False
        name = "minio_tls_enabled" if self.values["mlflow_s3_store"] == "minio" else "seaweedfs_s3_tls_enabled"
        given = _set_on(self, s3_host, name)
        return self.s3_tls() if given is None else given

    def s3_server_ca(self):
        """Controller path of the CA that signed the store's own certificate, for a direct TLS connection."""
        s3_host = self.s3_host()
        if not s3_host or not self.s3_server().startswith("https://"):
            return ""
        if self.values["mlflow_s3_store"] == "minio":
            ca_dir = _other(self, s3_host, "minio", "minio_tls_ca_dir") or ""
        else:
            ca_dir = _other(self, s3_host, "seaweedfs", "seaweedfs_s3_tls_ca_dir") or ""
        return ca_dir + "/ca.crt" if ca_dir else ""

    def s3_server_name(self):
        """The name in the store's certificate that the proxy checks (nginx checks DNS names only)."""
        if not self.s3_server().startswith("https://"):
            return ""
        if self.values["mlflow_s3_store"] == "minio":
            return _other(self, self.s3_host(), "minio", "minio_tls_server_name")
        return _other(self, self.s3_host(), "seaweedfs", "seaweedfs_s3_tls_server_name")

    # --- Internal TLS -----------------------------------------------------------------------------
    # Between hosts, every hop is encrypted and verified against the collection CA unless
    # mlflow_internal_tls is off; a hop that stays on one host uses loopback in the clear, which
    # never leaves the machine. Each decision is the same on every host of the stack, so that both
    # ends of a hop agree.
    def internal_tls(self):
        return bool(self.values["mlflow_internal_tls"])

    def _remote(self, clients, server):
        return any(client != server for client in clients)

    def db_tls(self):
        """PostgreSQL serves TLS: as the database host's inventory says, else when a tracking node is elsewhere."""
        hosts = self.group("mlflow_db")
        if not hosts:
            return False
        given = _set_on(self, hosts[0], "postgresql_tls_enabled")
        if given is not None:
            return given
        return self.internal_tls() and self._remote(self.group("mlflow_tracking"), hosts[0])

    def db_sslmode(self):
        """verify-full from a host other than the database's, when it serves TLS; loopback as before."""
        hosts = self.group("mlflow_db")
        if self.db_tls() and hosts and self.host != hosts[0] and self.internal_tls():
            return "verify-full"
        return "prefer"

    def tracking_tls(self):
        """The tracking nodes serve TLS: internal TLS, and a proxy and a tracking node on different hosts."""
        nodes = self.group("mlflow_tracking")
        return self.internal_tls() and any(self._remote(nodes, proxy) for proxy in self.group("mlflow_proxy"))

    def s3_tls(self):
        """The store's default: TLS when a host that talks to it directly is another host (the proxy
        that publishes it, else the tracking nodes)."""
        s3_host = self.s3_host()
        if not s3_host or not self.internal_tls():
            return False
        clients = self.group("mlflow_proxy") if self.s3_via_proxy() else self.group("mlflow_tracking")
        return self._remote(clients, s3_host)

    def s3_bind_ip(self):
        """Where the store's S3 port listens: loopback when every host that talks to it is its own host
        (SeaweedFS binds its S3 gRPC port there too), else every address. A store outside the stack's
        groups serves other hosts."""
        s3_host = self.s3_host()
        clients = self.group("mlflow_proxy") if self.s3_via_proxy() else self.group("mlflow_tracking")
        if s3_host and clients and not self._remote(clients, s3_host):
            return "127.0.0.1"
        return "0.0.0.0"

    def s3_via_proxy(self):
        return (self.values["mlflow_s3_store"] != "external" and bool(self.group("mlflow_proxy"))
                and int(self.values["mlflow_s3_https_port"]) > 0)

    def s3_upstream(self):
        """host:port of the store behind the proxy."""
        server = self.s3_server()
        return server.split("://", 1)[1] if server else ""

    def public_names(self):
        names = [self.values["mlflow_server_name"]]
        for proxy in self.group("mlflow_proxy"):
            for alias in _other(self, proxy, "nginx", "nginx_server_aliases") or []:
                if alias not in names:
                    names.append(alias)
        return names

    def upstreams(self):
        nodes = self.group("mlflow_tracking") or [self.host]
        return ["%s:%s" % (self.address(node), _other(self, node, "mlflow", "mlflow_port")) for node in nodes]

    def tracking_networks(self):
        networks = []
        for node in self.group("mlflow_tracking"):
            address = host_address(node, self.hostvars)
            suffix = "/32" if all(part.isdigit() for part in address.split(".")) else ("/128" if ":" in address else "")
            if address + suffix not in networks:
                networks.append(address + suffix)
        return networks

    def result(self):
        values = dict(self.values)
        values.update(
            derived=self.derived,
            inventory_set=self.inventory_set,
            errors=self.errors,
            features=features(values["mlflow_version"]),
            known_lines=known_lines_text(),
            tested=list(TESTED),
            db_address=_db_address(self),
            s3_server=self.s3_server(),
            s3_server_ca=self.s3_server_ca(),
            s3_via_proxy=self.s3_via_proxy(),
            s3_upstream=self.s3_upstream(),
            s3_upstream_tls=self.s3_server().startswith("https://"),
            s3_upstream_server_name=self.s3_server_name(),
            upstreams=self.upstreams(),
            public_names=self.public_names(),
            tracking_networks=self.tracking_networks(),
            db_tls=self.db_tls(),
            tracking_tls=self.tracking_tls(),
            tracking_tls_server_name=TRACKING_TLS_SERVER_NAME,
            s3_tls=self.s3_tls(),
            s3_bind_ip=self.s3_bind_ip(),
        )
        return values


def _host_ports(stack, host):
    """(variable, port, lowest allowed) of each service the groups put on this host."""
    def groups_of(name):
        return host in stack.group(name)

    ports = []
    if groups_of("mlflow_db"):
        ports.append(("postgresql_port", _other(stack, host, "postgresql", "postgresql_port"), 1))
    store = stack.values["mlflow_s3_store"]
    if groups_of("mlflow_s3") and store == "seaweedfs":
        for name in ("seaweedfs_master_port", "seaweedfs_volume_port", "seaweedfs_filer_port", "seaweedfs_s3_port"):
            ports.append((name, _other(stack, host, "seaweedfs", name), 1024))
        metrics = _other(stack, host, "seaweedfs", "seaweedfs_metrics_port")
        if str(metrics) not in ("0", "None"):
            ports.append(("seaweedfs_metrics_port", metrics, 1024))
    if groups_of("mlflow_s3") and store == "minio":
        ports.append(("minio_api_port", _other(stack, host, "minio", "minio_api_port"), 1024))
        if boolean(_other(stack, host, "minio", "minio_console_enabled"), strict=False):
            ports.append(("minio_console_port", _other(stack, host, "minio", "minio_console_port"), 1024))
    if groups_of("mlflow_tracking"):
        ports.append(("mlflow_port", _other(stack, host, "mlflow", "mlflow_port"), 1))
    if groups_of("mlflow_proxy"):
        ports.append(("mlflow_https_port", stack.values["mlflow_https_port"], 1))
        if store != "external" and str(stack.values["mlflow_s3_https_port"]) != "0":
            ports.append(("mlflow_s3_https_port", stack.values["mlflow_s3_https_port"], 1))
        http = _other(stack, host, "nginx", "nginx_http_port")
        if str(http) != "0":
            ports.append(("nginx_http_port", http, 1))
    return ports


def _db_address(stack):
    hosts = stack.group("mlflow_db") or [stack.host]
    return stack.address(hosts[0])


def _db_port(stack):
    hosts = stack.group("mlflow_db")
    return _other(stack, hosts[0], "postgresql", "postgresql_port") if hosts else 5432


def _s3_endpoint(stack):
    if stack.s3_via_proxy():
        return "https://%s:%s" % (stack.values["mlflow_server_name"], stack.values["mlflow_s3_https_port"])
    return stack.s3_server()


def _s3_ca_file(stack):
    if stack.s3_via_proxy():
        return stack.values["mlflow_tls_ca_dir"] + "/ca.crt"
    return stack.s3_server_ca()


def _tls_ca_dir(stack):
    variables = stack.variables(stack.host)
    base = variables.get("inventory_dir") or variables.get("playbook_dir") or "."
    return base + "/mlflow-ca"


# Inputs whose default depends on the inventory, derived here when nobody set them, in this order.
DERIVED = {
    "mlflow_server_name": lambda stack: (stack.group("mlflow_proxy") or [stack.host])[0],
    "mlflow_db_host": _db_address,
    "mlflow_db_port": _db_port,
    "mlflow_db_sslmode": lambda stack: stack.db_sslmode(),
    "mlflow_tls_ca_dir": _tls_ca_dir,
    "mlflow_s3_endpoint_url": _s3_endpoint,
    "mlflow_s3_ca_file": _s3_ca_file,
}


def stack(hostvars, groups, host):
    return _Stack(hostvars, groups, host).resolve().check_ports().result()


class FilterModule(object):
    """mlops.mlflow.stack"""

    def filters(self):
        return {"stack": stack}
