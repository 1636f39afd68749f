"""The collection's security check, run by the full-stack scenarios (default, auth, external).

A scenario's tests/test_security.py states only its expectations:

    class TestSecurity(SecurityCheck):
        SCENARIO = Scenario(hosts=(Host(...), ...), web=Web(...), secrets=(Var(...), ...))

and this module asserts, on the converged and verified stack:

1. units: every unit of the collection on each host (units the roles write, units they sandbox, units
   that own a listening socket) has a threshold, and its `systemd-analyze security` exposure is at or
   below it;
2. listeners: the TCP and UDP sockets listening on each host (`ss`: address, port and the unit owning
   them) are exactly the expected ones, and from the other hosts only the non-loopback ones answer;
3. TLS: the published ports speak TLS 1.2 and 1.3 only (1.0 and 1.1 refused by the server, weak TLS 1.2
   ciphers too) and send the security headers;
4. routes: without credentials every route but /health answers 401 (listed exceptions aside), the S3
   port 403 or 401, plain HTTP only redirects;
5. secrets: no secret of the scenario in `ps`, in the journal, in a world-readable file or a log, in the
   output of `ansible-playbook -vvv --check --diff` (and the journal it leaves on the hosts); the
   collection CA's key on no host at all.

Open findings that are not fixed yet are listed in PENDING (here, for all scenarios) or in a scenario's
`pending`, each with its reason: the test then reports them as xfail, and fails once a finding is gone,
so that its entry gets deleted and the check asserts it from then on.

Probes run on the hosts (security_probe.py, standard library only): nothing needs the controller to
reach a host's ports, and secrets travel only in a root-only file written by Ansible's copy module
(whose content is never logged), never on a command line.
"""

import base64
import dataclasses
import fnmatch
import ipaddress
import json
import os
import re
import subprocess
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import testinfra

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).parents[2]))
EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"))
PROBE = Path(__file__).with_name("security_probe.py")
REMOTE = "/root/.mlflow-security-check"

# Open findings of every scenario: "<check> <what>" -> why it is still open. Delete an entry when its
# test says the finding is gone.
PENDING = {}

# SeaweedFS's master, volume server and filer, HTTP and gRPC: on loopback in every layout of the role.
SEAWEEDFS_LOOPBACK = {f"127.0.0.1:{port}": "seaweedfs.service" for port in (9333, 19333, 8080, 18080, 8888, 18888)}

# Headers every HTTPS answer must carry: name -> pattern of the value.
REQUIRED_HEADERS = {
    # At least a year.
    "Strict-Transport-Security": r"max-age=(3153[6-9]\d{3}|315[4-9]\d{4}|31[6-9]\d{5}|3[2-9]\d{6}|[4-9]\d{7}|\d{9,})\b",
}
# Headers the proxy adds to every answer, its own included (its 401 page, the S3 port's answers).
PROXY_HEADERS = {
    "X-Content-Type-Options": r"nosniff",
    "Referrer-Policy": r"(no-referrer|same-origin|strict-origin|strict-origin-when-cross-origin)",
}

# The phases of site.yml that handle a secret (preflight checks them, databases and configure write
# them, the bucket and objects phases log in with them, nginx_auth writes the credential files): the
# -vvv check-mode run takes these, which is most of what a full run shows for a third of the time
# (the install phases only look at packages).
SECRET_TAGS = ("postgresql_preflight", "seaweedfs_preflight", "minio_preflight", "mlflow_preflight", "nginx_preflight",
               "postgresql_databases", "seaweedfs_configure", "minio_configure", "mlflow_s3_bucket", "mlflow_configure",
               "mlflow_schema", "mlflow_objects", "nginx_auth")

# Where secrets must not be: files anyone on the host may read (mode o+r) under these, and every file
# of the log directories whatever its mode (the adm group reads them, log shippers send them away).
FILE_DIRS = ["/etc", "/opt", "/var", "/srv", "/run", "/home", "/root", "/usr/local", "/tmp"]
LOG_DIRS = ["/var/log"]

# Docker's embedded DNS resolver (127.0.0.11, random ports) listens in every container of a user-defined
# network; its sockets belong to dockerd, outside the host's cgroups.
DOCKER_DNS = re.compile(r"^127\.0\.0\.11:\d+$")


@dataclass(frozen=True)
class Host:
    """One host of the scenario."""

    name: str
    # Unit, or a glob (postgresql@*-main.service), -> the highest exposure allowed; a comment says
    # what it measured.
    units: dict
    # "ADDRESS:PORT" as ss prints it (0.0.0.0:443, *:8333 for both families, 127.0.0.1:5000; {ip} is
    # the host's address on the scenario network) -> the unit owning the socket. TCP unless the key
    # starts with "udp ".
    listeners: dict
    # False for a host outside the stack's groups, which site.yml does not touch.
    stack: bool = True


@dataclass(frozen=True)
class Web:
    """The published face of the stack, on one host."""

    host: str
    server_name: str
    https_port: int
    # 0: the S3 store is not published.
    s3_port: int = 0
    # 0: no plain HTTP listener.
    http_port: int = 80
    prefix: str = ""
    # False for mlflow_auth_mode none: nothing asks for credentials (MLflow and the proxy listen on
    # loopback only, which the listeners prove).
    auth: bool = True
    # Path -> (status, why): routes that answer without credentials, by design.
    open_routes: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Var:
    """A secret from the scenario's inventory: a variable, or a field of each item ("users[].password")."""

    path: str
    scope: str = "world-readable"


@dataclass(frozen=True)
class ControllerFile:
    """A secret kept in a file on the controller, relative to the scenario's ephemeral directory."""

    path: str
    scope: str = "world-readable"


@dataclass(frozen=True)
class PrivateKey:
    """A PEM private key on the controller (relative to the ephemeral directory): a line of its key material."""

    path: str
    # The collection CA's key must be on no host at all.
    scope: str = "anywhere"


@dataclass(frozen=True)
class HostFileField:
    """A derived secret on a host: field `index` (split at `separator`) of each line of a root-only file.

    For example the bcrypt hashes of an htpasswd file: not the passwords, but nothing to show either.
    """

    host: str
    path: str
    separator: str = ":"
    index: int = 1
    scope: str = "world-readable"


@dataclass(frozen=True)
class Scenario:
    hosts: tuple
    web: Web
    secrets: tuple
    # Open findings of this scenario, as PENDING: "listener <host> <address:port> <unit>" -> why.
    pending: dict = field(default_factory=dict)


def _b64(document):
    return base64.b64encode(json.dumps(document).encode()).decode()


def _exposure(output):
    match = re.search(r"Overall exposure level for (\S+): (\d+\.\d+)", output)
    assert match, output[-2000:]
    return float(match.group(2))


def _listeners(output):
    """ss -ltunpeH -> {"ADDRESS:PORT" (TCP) or "udp ADDRESS:PORT": unit or process}."""
    found = {}
    for line in output.splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        netid, local = fields[0], fields[4]
        cgroup = re.search(r"cgroup:(\S+)", line)
        unit = cgroup.group(1).rstrip("/").rsplit("/", 1)[-1] if cgroup else ""
        process = re.search(r'users:\(\("([^"]+)"', line)
        owner = unit if unit.endswith((".service", ".socket", ".scope")) else (process.group(1) if process else unit or "?")
        found[("udp " if netid == "udp" else "") + local] = owner
    return found


def _loopback(address):
    host = address.rsplit(":", 1)[0].strip("[]").split("%")[0]
    if host == "*":
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _judge(findings, pending, prefixes):
    """Fail on findings (key -> note) not in pending; fail when a pending finding of this check is gone; else xfail."""
    relevant = {key: why for key, why in pending.items() if key.startswith(prefixes)}
    new = [f"{finding}  <- {note}" for finding, note in findings.items() if finding not in relevant]
    gone = [key for key in relevant if key not in findings]
    assert not new, "\n".join(new)
    assert not gone, "fixed, delete from the pending findings (molecule/_shared/security_check.py or the scenario): " + "; ".join(gone)
    if relevant:
        pytest.xfail("open findings: " + "; ".join(f"{key} ({why})" for key, why in relevant.items()))


def _masked(text, needles, name):
    """The lines of text that hold needle `name`, each secret replaced by its name: evidence without the secret."""
    lines = [line for line in text.splitlines() if needles[name]["value"] in line][:5]
    for other, needle in needles.items():
        lines = [line.replace(needle["value"], f"<{other}>") for line in lines]
    return lines


class SecurityCheck:
    """The checks; a scenario's TestSecurity subclass sets SCENARIO."""

    SCENARIO = None

    def pytest_generate_tests(self, metafunc):
        scenario = self.SCENARIO
        names = [host.name for host in scenario.hosts]
        params = metafunc.fixturenames
        if "unit" in params:
            cases = [(host.name, unit) for host in scenario.hosts for unit in host.units]
            metafunc.parametrize("host_name, unit", cases, ids=[f"{h}-{u}" for h, u in cases])
        elif "route" in params:
            metafunc.parametrize("route", _routes(scenario.web), ids=lambda route: f"{route['port']}-{route['method']}-{route['path']}")
        elif "tls_port" in params:
            ports = [port for port in (scenario.web.https_port, scenario.web.s3_port) if port]
            metafunc.parametrize("tls_port", ports, ids=str)
        elif "header" in params:
            metafunc.parametrize("header", [*REQUIRED_HEADERS, *PROXY_HEADERS], ids=str)
        elif "host_name" in params:
            metafunc.parametrize("host_name", names, ids=str)

    # Fixtures --------------------------------------------------------------------------------------

    @pytest.fixture(scope="class")
    @classmethod
    def hosts(cls):
        inventory = os.environ["MOLECULE_INVENTORY_FILE"]
        connected = {host.name: testinfra.get_host(f"ansible://{host.name}", ansible_inventory=inventory)
                     for host in cls.SCENARIO.hosts}
        for host in connected.values():
            host.run_test(f"install -d -m 0700 {REMOTE}")
            copied = host.ansible("copy", f"src={PROBE} dest={REMOTE}/security_probe.py mode=0600", check=False)
            assert not copied.get("failed"), copied
        yield connected
        for host in connected.values():
            host.run(f"rm -rf {REMOTE}")

    @pytest.fixture(scope="class")
    @classmethod
    def addresses(cls, hosts):
        """Each host's address on the scenario network (Docker assigns it)."""
        return {name: host.check_output("hostname -I").split()[0] for name, host in hosts.items()}

    @pytest.fixture(scope="class")
    @classmethod
    def expected(cls, addresses):
        return {host.name: dataclasses.replace(host, listeners={key.format(ip=addresses[host.name]): owner
                                                                for key, owner in host.listeners.items()})
                for host in cls.SCENARIO.hosts}

    @pytest.fixture(scope="class")
    @classmethod
    def pending(cls):
        return {**PENDING, **cls.SCENARIO.pending}

    @pytest.fixture(scope="class")
    @classmethod
    def variables(cls, hosts):
        return next(iter(hosts.values())).ansible.get_variables()

    @pytest.fixture(scope="class")
    @classmethod
    def needles(cls, hosts, variables):
        """Every secret of the scenario: name -> {value, scope}."""
        found = {}
        for secret in cls.SCENARIO.secrets:
            values = _secret_values(secret, hosts, variables)
            assert values, f"{secret}: no value (a renamed variable or file?)"
            for index, value in enumerate(values):
                assert len(value) >= 8, f"{secret}: too short to search for"
                label = getattr(secret, "path", "")
                found[f"{type(secret).__name__}:{label}" + (f"#{index}" if len(values) > 1 else "")] = {"value": value, "scope": secret.scope}
        return found

    @pytest.fixture(scope="class")
    @classmethod
    def units(cls, hosts):
        """Per host: the collection's units there, each matched to the threshold that covers it."""
        resolved = {}
        for name, host in hosts.items():
            written = host.check_output("find /etc/systemd/system -maxdepth 1 -type f -name '*.service' -printf '%f\\n'").split()
            sandboxed = host.check_output("find /etc/systemd/system -path '*.service.d/sandbox.conf' -printf '%h\\n'").split()
            listening = [unit for unit in _listeners(host.check_output("ss -ltunpeH")).values() if unit.endswith(".service")]
            resolved[name] = sorted(set(written) | {Path(path).name[:-2] for path in sandboxed} | set(listening))
        return resolved

    @pytest.fixture(scope="class")
    @classmethod
    def probe(cls, hosts):
        def run(host_name, command, spec):
            result = hosts[host_name].run(f"python3 {REMOTE}/security_probe.py {command} {_b64(spec)}")
            assert result.rc == 0, result.stderr[-3000:]
            return json.loads(result.stdout)
        return run

    @pytest.fixture(scope="class")
    @classmethod
    def answers(cls, probe):
        web = cls.SCENARIO.web
        requests = _routes(web) + [dict(request, kind=kind) for kind, request in _header_requests(web).items()]
        return probe(web.host, "http", {"requests": requests})

    @pytest.fixture(scope="class")
    @classmethod
    def ansible_vvv(cls, hosts):
        """ansible-playbook -vvv --check --diff of site.yml (the phases that handle secrets) on the converged
        stack, and what it left in each host's journal."""
        cursors = {name: host.check_output("journalctl --show-cursor -n 0 -q | sed -n 's/^-- cursor: //p'")
                   for name, host in hosts.items()}
        # The scenario's own configuration and inventory, as `molecule converge` uses them (test_phase_tags.py).
        env = dict(os.environ, ANSIBLE_CONFIG=str(EPHEMERAL / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
        result = subprocess.run(["ansible-playbook", "-vvv", "--check", "--diff", "-i", str(EPHEMERAL / "inventory"),
                                 str(PROJECT / "playbooks" / "site.yml"), "--tags", ",".join(SECRET_TAGS)],
                                capture_output=True, text=True, env=env, check=False, timeout=3600)
        journals = {name: hosts[name].check_output(f"journalctl --after-cursor='{cursor}' --no-pager -o short") if cursor else ""
                    for name, cursor in cursors.items()}
        return result, journals

    # 1. Units --------------------------------------------------------------------------------------

    def test_every_unit_of_the_collection_has_a_threshold(self, expected, units, host_name):
        patterns = expected[host_name].units
        missing = [unit for unit in units[host_name] if not any(fnmatch.fnmatch(unit, pattern) for pattern in patterns)]
        assert not missing, f"units with no exposure threshold on {host_name}: {missing}"
        stale = [pattern for pattern in patterns if not fnmatch.filter(units[host_name], pattern)]
        assert not stale, f"thresholds for units that are not on {host_name}: {stale}"

    def test_unit_exposure_is_at_most_its_threshold(self, hosts, expected, units, host_name, unit):
        matching = fnmatch.filter(units[host_name], unit)
        assert matching, f"{unit} is not on {host_name}"
        for name in matching:
            output = hosts[host_name].check_output(f"systemd-analyze security --no-pager {name}")
            exposure = _exposure(output)
            failing = "\n".join(line for line in output.splitlines() if line.startswith("✗"))
            assert exposure <= expected[host_name].units[unit], f"{name}: {exposure} above {expected[host_name].units[unit]}\n{failing}"
            # The collection's sandbox is what scores: it must be there.
            assert hosts[host_name].file(f"/etc/systemd/system/{name}.d/sandbox.conf").exists, f"{name} has no sandbox drop-in"

    # 2. Listeners ----------------------------------------------------------------------------------

    def test_listeners_are_the_expected_ones(self, hosts, expected, pending, host_name):
        actual = {key: owner for key, owner in _listeners(hosts[host_name].check_output("ss -ltunpeH")).items()
                  if not DOCKER_DNS.match(key.removeprefix("udp "))}
        wanted = expected[host_name].listeners
        findings = {f"listener {host_name} {key} {owner}":
                    "unexpected " + ("on loopback" if _loopback(key.removeprefix("udp ")) else "ON A NON-LOOPBACK ADDRESS")
                    for key, owner in sorted(actual.items()) if wanted.get(key) != owner}
        findings.update({f"missing listener {host_name} {key} {owner}": "expected, not listening"
                         for key, owner in wanted.items() if actual.get(key) != owner})
        _judge(findings, pending, (f"listener {host_name} ", f"missing listener {host_name} "))

    def test_other_hosts_reach_only_the_public_listeners(self, hosts, expected, addresses, pending, probe, host_name):
        peers = [name for name in hosts if name != host_name]
        if not peers:
            pytest.skip("one host: the listeners test covers it")
        actual = {key: owner for key, owner in _listeners(hosts[host_name].check_output("ss -ltunpeH")).items()
                  if not key.startswith("udp ") and not DOCKER_DNS.match(key)}
        tcp = {key: owner for key, owner in expected[host_name].listeners.items() if not key.startswith("udp ")}
        ports = sorted({int(key.rsplit(":", 1)[1]) for key in {**tcp, **actual}})
        public = {int(key.rsplit(":", 1)[1]) for key in tcp if not _loopback(key)}
        findings = {}
        for peer in peers:
            answered = probe(peer, "connect", {"address": addresses[host_name], "ports": ports})
            for port in ports:
                state = answered[str(port)]
                if (state == "open") == (port in public):
                    continue
                # An open finding of the listeners test shows here too: the same key.
                known = [f"listener {host_name} {key} {owner}" for key, owner in actual.items() if key.endswith(f":{port}")]
                known = [key for key in known if key in pending]
                findings[known[0] if known else f"{'reachable' if state == 'open' else 'unreachable'} {host_name}:{port} from {peer}"] = state
        _judge(findings, pending, (f"listener {host_name} ",))

    # 3. TLS and headers ----------------------------------------------------------------------------

    def test_tls_1_2_and_1_3_only(self, probe, tls_port):
        web = self.SCENARIO.web
        result = probe(web.host, "tls", {"ports": [tls_port], "server_name": web.server_name})[str(tls_port)]
        for version in ("TLSv1.2", "TLSv1.3"):
            assert result[version]["accepted"] and result[version]["version"] == version, result
        for version in ("TLSv1", "TLSv1.1"):
            # The client offered the version (SECLEVEL=0) and the server refused it.
            assert not result[version]["accepted"] and result[version]["reason"] == "TLSV1_ALERT_PROTOCOL_VERSION", result
        assert not result["TLSv1.2-weak-ciphers"]["accepted"], result

    def test_security_header(self, answers, pending, header):
        # Every HTTPS answer: MLflow's pages, the proxy's own (its 413, its 401 page), the S3 store's answers.
        pattern = REQUIRED_HEADERS.get(header) or PROXY_HEADERS[header]
        checked = [item for item in answers if "kind" in item]
        assert checked and all("status" in item for item in checked), checked
        assert next(item for item in checked if item["kind"] == "proxy")["status"] == 413, checked
        wrong = {f"{item['kind']} ({item['path']}, {item['status']})": item["headers"].get(header.lower())
                 for item in checked if not re.fullmatch(pattern, item["headers"].get(header.lower()) or "")}
        if header in REQUIRED_HEADERS:
            assert not wrong, f"{header} missing or wrong: {wrong}"
            return
        _judge({f"header {header}": f"missing or wrong on {wrong}"} if wrong else {}, pending, (f"header {header}",))

    # 4. Routes without credentials -----------------------------------------------------------------

    def test_route_without_credentials(self, answers, pending, route):
        response = next(item for item in answers if "kind" not in item and item["port"] == route["port"]
                        and item["path"] == route["path"] and item["method"] == route["method"])
        assert "status" in response, response
        name = f"route {route['port']} {route['method']} {route['path']}"
        findings = {} if response["status"] in route["expect"] else {
            f"{name} {response['status']}": (f"expected {route['expect']} ({route['why']}): " + " ".join(response["body"].split())[:160])}
        _judge(findings, pending, (name + " ",))
        if response["status"] in (301, 302, 307, 308):
            # Redirects stay on the public name, over HTTPS.
            location = urllib.parse.urlsplit(response["headers"]["location"])
            assert (location.scheme, location.hostname) == ("https", self.SCENARIO.web.server_name), response
            assert location.path.startswith(route.get("location", "/")), response

    # 5. Secrets ------------------------------------------------------------------------------------

    def test_no_secret_in_the_process_list(self, hosts, needles, host_name):
        processes = hosts[host_name].check_output("ps -eo user,pid,args")
        found = {name: _masked(processes, needles, name) for name in needles if needles[name]["value"] in processes}
        assert not found, found

    def test_no_secret_in_the_journal(self, hosts, needles, units, ansible_vvv, host_name):
        # After the -vvv run (the fixture): its module invocations are in the journal too. The whole
        # journal, not only the collection's units: Ansible's modules log their arguments there.
        del ansible_vvv
        journal = hosts[host_name].check_output("journalctl --no-pager -o short")
        assert any(unit in journal for unit in units[host_name]), "the journal holds nothing of the collection's units"
        found = {name: _masked(journal, needles, name) for name in needles if needles[name]["value"] in journal}
        assert not found, found

    def test_no_secret_in_a_readable_file(self, hosts, needles, probe, host_name):
        host = hosts[host_name]
        # The needles travel in a root-only file, through Ansible's copy module (content is never logged).
        copied = host.ansible("copy", f"content={_b64(needles)} dest={REMOTE}/needles mode=0600", check=False)
        assert not copied.get("failed"), {key: value for key, value in copied.items() if key != "invocation"}
        try:
            result = probe(host_name, "files", {"needles": f"{REMOTE}/needles", "dirs": FILE_DIRS, "log_dirs": LOG_DIRS})
        finally:
            host.run(f"rm -f {REMOTE}/needles")
        assert result["files_read"] > 1000, result
        problems = {"secrets in files": result["hits"], "world-readable private keys": result["private_keys"],
                    "files too large to search": result["too_large"]}
        assert not any(problems.values()), f"{host_name}: {problems}"

    def test_no_secret_in_the_ansible_output_at_vvv(self, ansible_vvv, needles):
        result, journals = ansible_vvv
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
        output = result.stdout + result.stderr
        assert "PLAY RECAP" in output and output.count("TASK [") > 50, output[-2000:]
        found = {name: _masked(output, needles, name) for name in needles if needles[name]["value"] in output}
        assert not found, found
        for host_name, journal in journals.items():
            if self.SCENARIO.hosts[[host.name for host in self.SCENARIO.hosts].index(host_name)].stack:
                assert "Invoked with" in journal, f"{host_name}: the run left no module invocation in the journal"
            found = {name: _masked(journal, needles, name) for name in needles if needles[name]["value"] in journal}
            assert not found, f"{host_name}: {found}"


def _secret_values(secret, hosts, variables):
    if isinstance(secret, Var):
        name, item_field = (secret.path.split("[].", 1) + [""])[:2]
        value = variables.get(name)
        values = [item[item_field] for item in value or []] if item_field else [value]
        return [str(value) for value in values if value]
    if isinstance(secret, ControllerFile):
        return [(EPHEMERAL / secret.path).read_text().strip()]
    if isinstance(secret, PrivateKey):
        body = [line for line in (EPHEMERAL / secret.path).read_text().splitlines() if line and not line.startswith("-----")]
        # A whole line of key material: no other file has it.
        return [max(body, key=len)]
    if isinstance(secret, HostFileField):
        content = hosts[secret.host].check_output(f"cat {secret.path}")
        return [line.split(secret.separator)[secret.index] for line in content.splitlines()
                if line and not line.startswith("#") and len(line.split(secret.separator)) > secret.index]
    raise TypeError(secret)


def _routes(web):
    """The requests without credentials, each with the statuses it may answer."""
    prefix = web.prefix
    denied = (401,)
    paths = [] if not web.auth else [
        ("GET", "/"),  # the UI
        ("GET", "/static-files/asset-manifest.json"),
        ("GET", "/favicon.ico"),
        ("GET", "/version"),
        ("GET", "/metrics"),
        ("GET", "/api/2.0/mlflow/experiments/search?max_results=1"),
        ("POST", "/api/2.0/mlflow/experiments/create"),
        ("POST", "/api/2.0/mlflow/runs/search"),
        ("GET", "/api/2.0/mlflow/registered-models/search"),
        ("GET", "/api/2.0/mlflow/server-info"),
        ("GET", "/api/2.0/mlflow/users/get?username=admin"),
        ("GET", "/api/3.0/mlflow/traces?experiment_ids=0"),
        ("GET", "/ajax-api/2.0/mlflow/experiments/search?max_results=1"),
        ("GET", "/ajax-api/3.0/mlflow/traces?experiment_ids=0"),
        ("GET", "/api/2.0/mlflow-artifacts/artifacts"),
        ("PUT", "/api/2.0/mlflow-artifacts/artifacts/0/security-check/artifacts/x.bin"),
        ("GET", "/ajax-api/2.0/mlflow-artifacts/artifacts"),
        ("GET", "/get-artifact?path=x&run_uuid=0"),
        ("GET", "/model-versions/get-artifact?path=x&name=x&version=1"),
        ("POST", "/graphql"),
        ("GET", "/signup"),
        # Near /health, never it.
        ("GET", "/health/"),
        ("GET", "/healthz"),
        ("GET", "/HEALTH"),
        ("GET", "/health/../version"),
        ("GET", "/health%2F..%2Fversion"),
        # The proxy passes the request line as it came: MLflow must not resolve it either.
        ("GET", "/health/../api/2.0/mlflow/experiments/search?max_results=1"),
        ("GET", "/health/%2e%2e/api/2.0/mlflow/experiments/search?max_results=1"),
        ("GET", "//api/2.0/mlflow/experiments/search?max_results=1"),
    ]
    routes = []
    for method, path in paths:
        full = prefix + path
        status, why = web.open_routes.get(full, (None, None))
        routes.append({"port": web.https_port, "method": method, "path": full, "host": f"{web.server_name}:{web.https_port}",
                       "expect": (status,) if status else denied, "why": why or "no credentials",
                       **({"body": "{}"} if method == "POST" else {})})
    if prefix and web.auth:
        # Outside the prefix: the proxy's own 404 (401 where it authenticates), unless a location of the
        # proxy forwards the path to MLflow (MLflow versions that serve some routes at the root only).
        for method, path in [("GET", "/version"), ("GET", "/api/2.0/mlflow/experiments/search?max_results=1"),
                             ("GET", "/ajax-api/2.0/mlflow/experiments/search?max_results=1"), ("POST", "/graphql"),
                             ("GET", "/static-files/asset-manifest.json"), ("GET", "/index.html"), ("GET", "/anything")]:
            status, why = web.open_routes.get(path, (None, None))
            routes.append({"port": web.https_port, "method": method, "path": path, "host": f"{web.server_name}:{web.https_port}",
                           "expect": (status,) if status else (401, 404), "why": why or "outside the prefix, no credentials",
                           **({"body": "{}"} if method == "POST" else {})})
        routes.append({"port": web.https_port, "method": "GET", "path": "/", "host": f"{web.server_name}:{web.https_port}",
                       "expect": (302,), "location": prefix + "/", "why": "the root redirects to the prefix"})
    # Open by design: health checks of load balancers, at the root and under the prefix.
    for path in sorted({"/health", prefix + "/health"}):
        routes.append({"port": web.https_port, "method": "GET", "path": path, "host": f"{web.server_name}:{web.https_port}",
                       "expect": (200,), "why": "health checks stay open"})
    # Any other path: MLflow's, or the proxy's own.
    for path, (status, why) in web.open_routes.items():
        if not any(route["path"] == path for route in routes):
            routes.append({"port": web.https_port, "method": "GET", "path": path, "host": f"{web.server_name}:{web.https_port}",
                           "expect": (status,), "why": why})
    if web.s3_port:
        s3 = [("GET", "/"), ("GET", "/mlflow"), ("GET", "/mlflow?list-type=2"), ("GET", "/mlflow/artifacts/0/x"),
              ("PUT", "/mlflow/security-check.txt"), ("DELETE", "/mlflow/security-check.txt"), ("GET", "/another-bucket"),
              ("PUT", "/another-bucket"), ("GET", "/minio/admin/v3/info")]
        routes += [{"port": web.s3_port, "method": method, "path": path, "host": f"{web.server_name}:{web.s3_port}",
                    "expect": (401, 403), "why": "the S3 store refuses unsigned requests", **({"body": ""} if method == "PUT" else {})}
                   for method, path in s3]
        # The IAM API is no S3 operation: refused one way or another, never answered.
        routes.append({"port": web.s3_port, "method": "POST", "path": "/?Action=ListUsers", "host": f"{web.server_name}:{web.s3_port}",
                       "expect": (401, 403, 405), "why": "no IAM API on the S3 port", "body": "Action=ListUsers"})
    if web.http_port:
        routes += [{"port": web.http_port, "tls": False, "method": "GET", "path": path, "host": web.server_name, "expect": (301,),
                    "location": path, "why": "plain HTTP only redirects"}
                   for path in ("/", "/health", prefix + "/api/2.0/mlflow/experiments/search")]
    return routes


def _header_requests(web):
    """One HTTPS answer of each kind, to look at its headers."""
    main = {"port": web.https_port, "method": "GET", "host": f"{web.server_name}:{web.https_port}"}
    requests = {"health": {**main, "path": "/health"}}
    if web.auth:
        requests["denied"] = {**main, "path": web.prefix + "/api/2.0/mlflow/experiments/search"}
    else:
        requests["api"] = {**main, "path": web.prefix + "/api/2.0/mlflow/experiments/search?max_results=1"}
    # One the proxy answers itself in every mode: a body over client_max_body_size is refused (413) from
    # its Content-Length alone, before authentication.
    requests["proxy"] = {**main, "method": "POST", "path": web.prefix + "/api/2.0/mlflow/experiments/create",
                         "headers": {"Content-Length": str(1 << 40)}}
    if web.s3_port:
        requests["s3"] = {"port": web.s3_port, "method": "GET", "path": "/", "host": f"{web.server_name}:{web.s3_port}"}
    return requests
