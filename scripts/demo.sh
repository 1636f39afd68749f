#!/usr/bin/env bash
# make demo: the whole stack in one local systemd container, deployed with playbooks/site.yml, HTTPS
# published on 127.0.0.1 only, then a smoke test with the official MLflow client. Running it again
# converges the same container (changed=0). `make demo-clean` removes it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
demo="$root/demo"
name=mlops-mlflow-demo
port=${DEMO_PORT:-8443}
s3_port=${DEMO_S3_PORT:-9443}
started=$(date +%s)

scripts/start-docker.sh
scripts/test-images.sh debian12

mkdir -p "$demo"
chmod 0700 "$demo"
# Secrets are generated once and kept in demo/ (git ignores it).
if [ ! -f "$demo/secrets.yml" ]; then
  python3 - "$demo/secrets.yml" <<'PY'
import secrets, sys
values = {name: secrets.token_hex(16) for name in
          ("mlflow_db_password", "mlflow_s3_secret_key", "seaweedfs_admin_secret_key", "demo_password", "demo_token")}
values["demo_token"] += secrets.token_hex(16)
with open(sys.argv[1], "w") as handle:
    handle.write("---\n" + "".join(f"{k}: {v}\n" for k, v in values.items()))
PY
  chmod 0600 "$demo/secrets.yml"
fi
cat >"$demo/hosts.yml" <<YAML
---
all:
  hosts:
    $name:
      ansible_connection: community.docker.docker
      ansible_user: root
  children:
    mlflow_db: {hosts: {$name: {}}}
    mlflow_s3: {hosts: {$name: {}}}
    mlflow_tracking: {hosts: {$name: {}}}
    mlflow_proxy: {hosts: {$name: {}}}
  vars:
    mlflow_server_name: localhost
    mlflow_https_port: $port
    mlflow_s3_https_port: $s3_port
    mlflow_tls_ca_dir: $demo/mlflow-ca
    mlflow_workers: 2
    nginx_auth_users: [{name: demo, password: "{{ demo_password }}"}]
    nginx_auth_tokens: [{name: demo, token: "{{ demo_token }}"}]
YAML

if ! docker container inspect "$name" >/dev/null 2>&1; then
  # The same systemd flags as the Molecule hosts: no --privileged needed.
  docker run -d --name "$name" --hostname "$name" \
    --cap-add SYS_ADMIN --security-opt seccomp=unconfined --cgroupns=host \
    -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /run/lock --tmpfs /tmp \
    -p "127.0.0.1:$port:$port" -p "127.0.0.1:$s3_port:$s3_port" \
    mlops-mlflow-testhost:debian12 /lib/systemd/systemd >/dev/null
fi
docker start "$name" >/dev/null
for _ in $(seq 1 60); do
  state=$(docker exec "$name" systemctl is-system-running 2>/dev/null || true)
  case "$state" in running|degraded) break ;; esac
  sleep 1
done

export ANSIBLE_COLLECTIONS_PATH="$root/.cache/collections" ANSIBLE_NOCOLOR=1
.venv/bin/ansible-playbook -i "$demo/hosts.yml" -e "@$demo/secrets.yml" playbooks/site.yml

password=$(sed -n 's/^demo_password: //p' "$demo/secrets.yml")
token=$(sed -n 's/^demo_token: //p' "$demo/secrets.yml")
scripts/e2e-client-venv.sh >/dev/null
# The client with the settings printed below and none of this machine's own trust settings.
env -u REQUESTS_CA_BUNDLE -u AWS_CA_BUNDLE -u SSL_CERT_FILE -u CURL_CA_BUNDLE -u MLFLOW_TRACKING_SERVER_CERT_PATH \
  MLFLOW_TRACKING_URI="https://localhost:$port" REQUESTS_CA_BUNDLE="$demo/mlflow-ca/client-bundle.pem" \
  MLFLOW_TRACKING_USERNAME=demo MLFLOW_TRACKING_PASSWORD="$password" \
  .cache/e2e-venv/bin/python tests/e2e/mlflow_e2e.py smoke

cat <<INFO

MLflow is running: https://localhost:$port   (deployed in $(( $(date +%s) - started )) s)
  user demo, password $password   (or MLFLOW_TRACKING_TOKEN=$token)
  CA certificate: $demo/mlflow-ca/ca.crt

  export MLFLOW_TRACKING_URI=https://localhost:$port
  export REQUESTS_CA_BUNDLE=$demo/mlflow-ca/client-bundle.pem
  export MLFLOW_TRACKING_USERNAME=demo MLFLOW_TRACKING_PASSWORD=$password
  curl --cacert $demo/mlflow-ca/ca.crt -u demo:$password https://localhost:$port/version
INFO
