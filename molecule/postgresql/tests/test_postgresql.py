"""PostgreSQL as MLflow's backend store: who can log in, from where, and what they own."""

import shlex

import pytest

VERSIONS = {"pg-debian12": "15", "pg-debian13": "17"}


@pytest.fixture()
def v(host):
    return host.ansible.get_variables()


def _psql(host, sql, user="mlflow", password=None, address="127.0.0.1", db="mlflow", sslmode="prefer"):
    conninfo = f"host={address} dbname={db} user={user} sslmode={sslmode} connect_timeout=5"
    env = f"PGPASSWORD={shlex.quote(password)} " if password is not None else ""
    return host.run(f"{env}psql {shlex.quote(conninfo)} -XtAc {shlex.quote(sql)}")


def _admin(host, sql, db="postgres"):
    return host.check_output(f"runuser -u postgres -- psql -d {db} -XtAc {shlex.quote(sql)}")


def test_cluster_unit_is_running_and_enabled(host, v):
    unit = host.service(f"postgresql@{VERSIONS[v['inventory_hostname']]}-main")
    assert unit.is_running
    assert unit.is_enabled


def test_cluster_unit_is_sandboxed(host, v):
    unit = f"postgresql@{VERSIONS[v['inventory_hostname']]}-main"
    props = host.service(unit).systemd_properties
    assert (props["User"], props["ProtectSystem"], props["NoNewPrivileges"]) == ("postgres", "strict", "yes")
    assert host.check_output(f"systemctl show -p CapabilityBoundingSet --value {unit}") == ""
    # The collection's one sandbox, as a drop-in of the cluster's unit; the JIT needs writable code.
    assert f"/etc/systemd/system/{unit}.service.d/sandbox.conf" in props["DropInPaths"].split()
    assert props["MemoryDenyWriteExecute"] == "no" and props["RemoveIPC"] == "no"
    exposure = host.check_output(f"systemd-analyze security {unit} | tail -1")
    assert float(exposure.split("level for")[1].split(":")[1].split()[0]) <= 2.0, exposure


def test_mlflow_role_logs_in_over_tcp_with_its_password(host, v):
    for db in ("mlflow", "mlflow_auth"):
        result = _psql(host, "SELECT current_user || '@' || current_database()", password=v["mlflow_db_password"], db=db)
        assert result.rc == 0, result.stderr
        assert result.stdout.strip() == f"mlflow@{db}"


def test_wrong_password_is_refused(host):
    result = _psql(host, "SELECT 1", password="not-the-password")
    assert result.rc != 0
    assert "password authentication failed" in result.stderr


def test_address_outside_pg_hba_is_refused(host, v):
    address = next(a for a in host.interface("eth0").addresses if "." in a)
    result = _psql(host, "SELECT 1", password=v["mlflow_db_password"], address=address, sslmode="disable")
    assert result.rc != 0
    assert "no pg_hba.conf entry" in result.stderr


def test_databases_are_owned_by_the_mlflow_role(host):
    owners = _admin(host, "SELECT datname || '=' || pg_get_userbyid(datdba) FROM pg_database "
                          "WHERE datname IN ('mlflow', 'mlflow_auth') ORDER BY 1")
    assert owners.split() == ["mlflow=mlflow", "mlflow_auth=mlflow"]


def test_mlflow_role_can_create_tables_in_the_auth_database(host, v):
    sql = "BEGIN; CREATE TABLE probe (id int); ROLLBACK;"
    result = _psql(host, sql, password=v["mlflow_db_password"], db="mlflow_auth")
    assert result.rc == 0, result.stderr


def test_mlflow_role_is_unprivileged_and_its_password_is_scram(host):
    row = _admin(host, "SELECT rolsuper, rolcreatedb, rolcreaterole, rolpassword LIKE 'SCRAM-SHA-256$%' "
                       "FROM pg_authid WHERE rolname = 'mlflow'")
    assert row == "f|f|f|t"


def test_public_cannot_connect_to_the_mlflow_databases(host):
    for db in ("mlflow", "mlflow_auth"):
        assert _admin(host, f"SELECT has_database_privilege('public', '{db}', 'CONNECT')") == "f"


def test_pg_hba_is_not_world_readable(host, v):
    hba = host.file(f"/etc/postgresql/{VERSIONS[v['inventory_hostname']]}/main/pg_hba.conf")
    assert hba.user == "postgres"
    assert hba.mode == 0o640


def test_tls_matches_the_host_settings(host, v):
    result = _psql(host, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                   password=v["mlflow_db_password"], sslmode="require")
    if v.get("postgresql_tls_enabled"):
        assert result.rc == 0, result.stderr
        assert result.stdout.strip() == "t"
        key = host.file(f"/etc/postgresql/{VERSIONS[v['inventory_hostname']]}/main/tls/server.key")
        assert key.user == "postgres" and key.mode == 0o600
        # Signed by the collection CA on the controller, not by itself.
        crt = f"/etc/postgresql/{VERSIONS[v['inventory_hostname']]}/main/tls/server.crt"
        issuer = host.check_output(f"openssl x509 -noout -issuer -in {crt}")
        assert "MLflow platform CA" in issuer, issuer
    else:
        assert result.rc != 0
        assert "does not support SSL" in result.stderr


def test_memory_settings_follow_the_sizing_and_overrides(host, v):
    shared_buffers = _admin(host, "SHOW shared_buffers")
    if v["inventory_hostname"] == "pg-debian13":
        assert shared_buffers == "256MB"
        assert _admin(host, "SHOW random_page_cost") == "1.1"
        assert _admin(host, "SHOW log_min_duration_statement") == "500ms"
    else:
        memtotal_mb = int(host.check_output("awk '/^MemTotal/ {print int($2 / 1024)}' /proc/meminfo"))
        shared_buffers_mb = _admin(host, "SELECT setting::bigint * 8 / 1024 FROM pg_settings WHERE name = 'shared_buffers'")
        assert int(shared_buffers_mb) == max(memtotal_mb // 4, 128)
