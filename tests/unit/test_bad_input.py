"""Bad input is refused in the first play of playbooks/site.yml, before any host is changed.

Each case is the valid multi-host inventory below with one variation. The real site.yml runs against
fake hosts (connection local, nothing contacted) with facts of Debian 12 hosts served from a fact
cache, and with a tag that selects no task: only the tasks tagged always run, that is the common
role's contract checks and every role's preflight in the first play (the CA task is skipped, and the
later plays have nothing to do). Each case asserts the message, that it names the variable and says
what to set, that the failure comes before the second play starts, and that no secret is printed.
"""

import copy
import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).parents[2]
SITE = REPO / "playbooks" / "site.yml"
FIRST_PLAY = "PLAY [Stack contract and the collection CA]"
SECOND_PLAY = "PLAY [Backend store]"

SECRETS = {
    "mlflow_db_password": "db-password-0123456789",
    "mlflow_s3_secret_key": "s3-secret-key-0123456789",
    "seaweedfs_admin_secret_key": "s3-admin-key-0123456789",
    "nginx_auth_users": [{"name": "alice", "password": "alice-password-0123"}],
}
SECRET_VALUES = ["db-password-0123456789", "s3-secret-key-0123456789", "s3-admin-key-0123456789", "alice-password-0123"]

VALID = {
    "all": {
        "vars": dict(SECRETS, ansible_connection="local", ansible_python_interpreter="{{ ansible_playbook_python }}",
                     mlflow_server_name="mlflow.example.net"),
        "children": {
            "mlflow_db": {"hosts": {"db1": {"ansible_host": "192.0.2.10"}}},
            "mlflow_s3": {"hosts": {"s3a": {"ansible_host": "192.0.2.11"}}},
            "mlflow_tracking": {"hosts": {
                "t1": {"ansible_host": "192.0.2.21", "mlflow_host": "192.0.2.21"},
                "t2": {"ansible_host": "192.0.2.22", "mlflow_host": "192.0.2.22"}}},
            "mlflow_proxy": {"hosts": {"p1": {"ansible_host": "192.0.2.30"}}},
        },
    }
}

FACTS = {
    "ansible_os_family": "Debian", "ansible_distribution": "Debian", "ansible_distribution_version": "12.8",
    "ansible_distribution_major_version": "12", "ansible_distribution_release": "bookworm",
    "ansible_service_mgr": "systemd", "ansible_architecture": "x86_64", "ansible_system": "Linux",
    "ansible_memtotal_mb": 4096, "ansible_processor_vcpus": 2, "ansible_all_ipv6_addresses": [],
    "_ansible_facts_gathered": True,
}


def _all_vars(inventory):
    return inventory["all"]["vars"]


def _group(inventory, name):
    return inventory["all"]["children"][name]


def _host(inventory, name):
    for group in inventory["all"]["children"].values():
        if name in (group.get("hosts") or {}):
            return group["hosts"][name]
    raise KeyError(name)


def set_all(**values):
    return lambda inventory: _all_vars(inventory).update(values)


def set_host(host, **values):
    return lambda inventory: _host(inventory, host).update(values)


def drop_group(name):
    def change(inventory):
        _group(inventory, name)["hosts"] = {}
    return change


def single_host(**values):
    """Every group on one host, as inventory.example/single-host."""
    def change(inventory):
        for group in inventory["all"]["children"].values():
            group["hosts"] = {"h1": {"ansible_host": "192.0.2.40"}}
        _all_vars(inventory).update(values)
    return change


def tracking_loopback(inventory):
    for host in _group(inventory, "mlflow_tracking")["hosts"].values():
        host.pop("mlflow_host")


# (id, change, [texts the output must show]): each message names the variable and says what to set.
CASES = [
    ("db_password_empty", set_all(mlflow_db_password=""),
     ["mlflow_db_password is empty: set it (vault it) to a password of at least 12 characters"]),
    ("db_password_short", set_all(mlflow_db_password="short"),
     ["mlflow_db_password is shorter than 12 characters: set it"]),
    ("db_password_wrong_type", set_all(mlflow_db_password=["a", "list"]),
     ["mlflow_db_password is not a string: set it (vault it) to a password of at least 12 characters"]),
    ("s3_secret_short", set_all(mlflow_s3_secret_key="tooshort"),
     ["at least 16 characters: too short or empty: mlflow_s3_secret_key"]),
    ("s3_admin_secret_empty", set_all(seaweedfs_admin_secret_key=""),
     ["too short or empty: seaweedfs_admin_secret_key"]),
    ("s3_secrets_equal", set_all(seaweedfs_admin_secret_key=SECRETS["mlflow_s3_secret_key"]),
     ["Set mlflow_s3_secret_key and seaweedfs_admin_secret_key", "both are the same"]),
    ("nginx_password_short", set_all(nginx_auth_users=[{"name": "bob", "password": "short"}]),
     ["passwords of 12 characters or more", "Too short in nginx_auth_users: bob"]),
    ("nginx_token_short", set_all(nginx_auth_users=[], nginx_auth_tokens=[{"name": "ci", "token": "abc"}]),
     ["Not 32+ URL-safe characters in nginx_auth_tokens: ci"]),
    ("nginx_no_credentials", set_all(nginx_auth_users=[]),
     ["declare at least one user in nginx_auth_users"]),
    ("mlflow_admin_password_empty", set_all(mlflow_auth_mode="mlflow"),
     ["set mlflow_auth_admin_password", "it is empty or too short"]),
    ("mlflow_port_wrong_type", set_host("t1", mlflow_port="http"),
     ["mlflow_port on t1 is 'http', which is not a port number: set it to 1-65535"]),
    ("mlflow_port_out_of_range", set_host("t2", mlflow_port=70000),
     ["mlflow_port on t2 is 70000, outside 1-65535: set it to a port in that range"]),
    ("https_port_zero", set_all(mlflow_https_port=0),
     ["mlflow_https_port on p1 is 0, outside 1-65535: set it to a port in that range"]),
    ("seaweedfs_port_privileged", set_host("s3a", seaweedfs_filer_port=80),
     ["seaweedfs_filer_port on s3a is 80, outside 1024-65535"]),
    ("https_ports_equal", set_all(mlflow_s3_https_port=443),
     ["mlflow_https_port and mlflow_s3_https_port use the same port 443 on p1: set mlflow_s3_https_port to a free port"]),
    ("single_host_mlflow_vs_postgresql", single_host(mlflow_port=5432),
     ["postgresql_port and mlflow_port use the same port 5432 on h1: set mlflow_port to a free port"]),
    ("single_host_seaweedfs_vs_mlflow", single_host(seaweedfs_volume_port=5000),
     ["seaweedfs_volume_port and mlflow_port use the same port 5000 on h1"]),
    ("single_host_minio_vs_nginx", single_host(mlflow_s3_store="minio", minio_binary_url="https://example.invalid/minio",
                                               minio_binary_sha256="0" * 64, minio_root_password="minio-root-0123456789",
                                               minio_api_port=9443),
     ["minio_api_port and mlflow_s3_https_port use the same port 9443 on h1"]),
    ("no_tracking_hosts", drop_group("mlflow_tracking"),
     ["Nothing to proxy to: put the tracking nodes in the mlflow_tracking group"]),
    ("tracking_on_loopback", tracking_loopback,
     ["mlflow_host is 127.0.0.1 (loopback) on t1", "nginx would answer 502", "Set mlflow_host to an address the proxy reaches"]),
    ("auth_none_not_loopback", set_all(mlflow_auth_mode="none"),
     ["mlflow_auth_mode 'none' leaves MLflow without authentication", "mlflow_host is 192.0.2.21"]),
    ("unknown_mlflow_version", set_all(mlflow_version="3.99.0"),
     ["mlflow_version '3.99.0' is not a release this collection knows: set it"]),
    ("conflicting_stack_value", lambda inventory: (set_host("t1", mlflow_version="3.17.2")(inventory),
                                                   set_host("p1", mlflow_version="2.22.5")(inventory)),
     ["mlflow_version is stack-wide but differs between hosts", "set it once, in group_vars/all"]),
    ("gc_schedule_bad", set_all(mlflow_gc_schedule="every tuesday"),
     ["mlflow_gc_schedule", "is neither a systemd OnCalendar expression", "set it to one"]),
    ("gc_schedule_bad_cron", set_all(mlflow_gc_schedule="61 3 * * *"),
     ["mlflow_gc_schedule", "five-field cron expression"]),
    ("gc_older_than_bad", set_all(mlflow_gc_older_than="30 days"),
     ["mlflow_gc_older_than", "is not in the #d#h#m#s format of mlflow gc: set it to a duration such as 30d"]),
    ("db_backup_keep_zero", set_all(mlflow_db_backup_keep=0),
     ["mlflow_db_backup_keep is 0", "set mlflow_db_backup_keep to 1 or more"]),
    ("venvs_keep_one", set_all(mlflow_venvs_keep=1),
     ["mlflow_venvs_keep is 1", "mlflow_venvs_keep to 2 or more"]),
    ("unknown_postgresql_setting", set_all(postgresql_settings={"shared_bufers": "1GB", "auto_explain.log_min_duration": 100}),
     ["postgresql_settings sets shared_bufers, which PostgreSQL", "15", "remove them or fix their spelling"]),
    ("url_path_without_slash", set_all(mlflow_url_path="mlflow"),
     ["mlflow_url_path 'mlflow' is not a path prefix", "starts with"]),
    ("url_path_trailing_slash", set_all(mlflow_url_path="/mlflow/"),
     ["mlflow_url_path '/mlflow/' is not a path prefix"]),
    ("bad_bucket_name", set_all(mlflow_s3_bucket="My_Bucket"),
     ["'My_Bucket' is not a valid S3 bucket name: set mlflow_s3_bucket"]),
    ("same_db_names", set_all(mlflow_auth_db_name="mlflow"),
     ["set mlflow_auth_db_name to a name other than mlflow_db_name"]),
    ("unknown_auth_mode", set_all(mlflow_auth_mode="ldap"),
     ["mlflow_auth_mode", "ldap"]),
    ("db_verify_without_ca", set_all(mlflow_db_sslmode="verify-full", mlflow_db_ca_file=""),
     ["mlflow_db_sslmode is verify-full", "mlflow_db_ca_file", "set it to the controller path of the CA"]),
]


def _run(tmp_path, inventory):
    tmp_path.mkdir(parents=True, exist_ok=True)
    cache = tmp_path / "facts"
    cache.mkdir()
    hosts = set()
    for group in inventory["all"]["children"].values():
        hosts.update((group.get("hosts") or {}).keys())
    for host in hosts:
        # The jsonfile cache's own layout in ansible-core 2.19 (s1_<host>, the facts as a JSON payload).
        (cache / ("s1_" + host)).write_text(json.dumps({"__payload__": json.dumps(FACTS)}))
    _all_vars(inventory).setdefault("mlflow_tls_ca_dir", str(tmp_path / "ca"))
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".cache" / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_GATHERING="smart", ANSIBLE_CACHE_PLUGIN="jsonfile", ANSIBLE_CACHE_PLUGIN_CONNECTION=str(cache),
               ANSIBLE_CACHE_PLUGIN_TIMEOUT="0", ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_FORCE_COLOR="0")
    # The tag selects no task: only those tagged always run (contract checks and the preflights).
    command = ["ansible-playbook", "-i", str(tmp_path / "hosts.yml"), str(SITE), "--tags", "bad_input_test"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False, cwd=str(tmp_path))
    return result, result.stdout + result.stderr


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every case and the valid inventory, two at a time (the machine is shared)."""
    jobs = [("valid", lambda inventory: None, [])] + CASES

    def one(job):
        name, change, _texts = job
        inventory = copy.deepcopy(VALID)
        change(inventory)
        return name, _run(tmp_path_factory.mktemp(name), inventory)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, jobs))


def test_at_least_25_cases():
    assert len(CASES) >= 25
    assert len({name for name, _change, _texts in CASES}) == len(CASES)


def test_valid_inventory_passes_the_first_play(runs):
    result, output = runs["valid"]
    assert result.returncode == 0, output[-4000:]
    assert FIRST_PLAY in output and SECOND_PLAY in output
    first_play = output.split(SECOND_PLAY)[0]
    # Every role's preflight ran in the first play, on the hosts of its group.
    for role, host in (("postgresql", "db1"), ("seaweedfs", "s3a"), ("mlflow", "t1"), ("nginx", "p1")):
        assert "TASK [mlops.mlflow.%s : Check the platform]" % role in first_play, role
        assert "ok: [%s]" % host in first_play
    assert "changed: [" not in output


@pytest.mark.parametrize("name,texts", [(name, texts) for name, _change, texts in CASES], ids=[c[0] for c in CASES])
def test_bad_input_fails_in_the_first_play(runs, name, texts):
    result, output = runs[name]
    assert result.returncode != 0, output[-4000:]
    assert FIRST_PLAY in output
    # Stopped in the first play: no later play started, nothing changed.
    assert SECOND_PLAY not in output, output[-4000:]
    assert "changed: [" not in output
    assert "fatal: [" in output or "ERROR!" in output or "[ERROR]" in output
    flat = " ".join(output.replace("\\n", " ").replace('\\"', '"').split())
    for text in texts:
        assert " ".join(text.split()) in flat, (text, output[-4000:])
    for secret in SECRET_VALUES:
        assert secret not in output, "a secret value was printed"
