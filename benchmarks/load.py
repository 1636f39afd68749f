"""Load generator for MLflow tracking servers (make bench).

Runs inside the demo container with the MLflow venv's python (stdlib + requests). Usage:

  load.py CONFIG [--out FILE]                          the matrix: op x threads x target
  load.py CONFIG --soak SECONDS --threads 32 [--target NAME] [--started-file F]
  load.py CONFIG --wait URL [--timeout 120]            wait until URL answers 200

CONFIG is a JSON file (mode 0600, it holds credentials) with
  targets: [{name, url, headers, verify}], verify a CA path or false
  experiment, duration, threads, ops, timeout, warmup, memory: {group: {unit: U} | {pid_file: F}}
Nothing secret goes into the output: targets are reported by name and url only.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time

import requests

API = "/api/2.0/mlflow"
OPS = ("log_batch", "search_runs", "get_run", "create_run")
# Mixed traffic of the soak: mostly metric logging, as training jobs do.
SOAK_MIX = ("log_batch",) * 5 + ("search_runs",) * 2 + ("get_run",) * 2 + ("create_run",)
SAMPLES = 5


class Target:
    def __init__(self, spec, timeout):
        self.name = spec["name"]
        self.url = spec["url"].rstrip("/")
        self.headers = spec.get("headers") or {}
        self.verify = spec.get("verify", True)
        self.timeout = timeout

    def session(self):
        # One keep-alive session per thread, as each MLflow client process holds one.
        session = requests.Session()
        session.headers.update(self.headers)
        session.verify = self.verify
        return session

    def post(self, session, path, body):
        return session.post(self.url + API + path, json=body, timeout=self.timeout)

    def get(self, session, path, params):
        return session.get(self.url + API + path, params=params, timeout=self.timeout)


def checked(response):
    if not 200 <= response.status_code < 300:
        raise RuntimeError(f"HTTP {response.status_code} {response.url}: {response.text[:300]}")
    return response.json()


def experiment_id(target, session, name):
    # Before timing: retried, so that a short outage (a redeploy of the stack) does not end the run.
    for attempt in range(10):
        try:
            return get_or_create(target, session, name)
        except (requests.RequestException, RuntimeError) as exc:
            if attempt == 9:
                raise
            print(f"{target.name}: {exc}; retrying", file=sys.stderr)
            time.sleep(5)
    return None


def get_or_create(target, session, name):
    response = target.get(session, "/experiments/get-by-name", {"experiment_name": name})
    if response.status_code == 404:
        response = target.post(session, "/experiments/create", {"name": name})
        if response.status_code == 200:
            return response.json()["experiment_id"]
        # Another target on the same database may have created it meanwhile.
        response = target.get(session, "/experiments/get-by-name", {"experiment_name": name})
    return checked(response)["experiment"]["experiment_id"]


def now_ms():
    return int(time.time() * 1000)


def metrics(step):
    stamp = now_ms()
    return [{"key": f"m{i}", "value": random.random(), "timestamp": stamp, "step": step} for i in range(10)]


class Client:
    """One thread's view: its session, its own run, its step counter."""

    def __init__(self, target, exp_id):
        self.target, self.exp_id = target, exp_id
        self.session = target.session()
        self.step = 0
        # Made before timing starts; it also opens the connection (TLS handshake included).
        self.run_id = self.create().json()["run"]["info"]["run_id"]
        checked(self.log_batch())

    def create(self):
        response = self.target.post(self.session, "/runs/create", {"experiment_id": self.exp_id, "start_time": now_ms()})
        checked(response)
        return response

    def log_batch(self):
        self.step += 1
        return self.target.post(self.session, "/runs/log-batch", {"run_id": self.run_id, "metrics": metrics(self.step)})

    def search_runs(self):
        return self.target.post(self.session, "/runs/search", {"experiment_ids": [self.exp_id], "max_results": 20})

    def get_run(self):
        return self.target.get(self.session, "/runs/get", {"run_id": self.run_id})

    def create_run(self):
        return self.target.post(self.session, "/runs/create", {"experiment_id": self.exp_id, "start_time": now_ms()})


class Recorder:
    """Latencies and failures of one case, shared by its threads."""

    def __init__(self, samples=SAMPLES):
        self.lock = threading.Lock()
        self.latencies, self.errors, self.error_samples = [], 0, []
        self.samples = samples
        self.per_second = {}
        self.kinds = {}
        self.start = None

    def record(self, started, ended, response=None, exc=None):
        ok = exc is None and 200 <= response.status_code < 300
        with self.lock:
            self.latencies.append(ended - started)
            second = self.per_second.setdefault(int(ended - self.start), [0, 0])
            second[0 if ok else 1] += 1
            if ok:
                return
            self.errors += 1
            # A few of each kind, so that a burst of one failure does not hide another.
            kind = type(exc).__name__ if exc is not None else response.status_code
            self.kinds[kind] = self.kinds.get(kind, 0) + 1
            if len(self.error_samples) < self.samples and self.kinds[kind] <= 3:
                sample = {"t": round(ended - self.start, 2)}
                if exc is not None:
                    sample["error"] = f"{type(exc).__name__}: {exc}"[:300]
                else:
                    sample.update(status=response.status_code, body=response.text[:300])
                self.error_samples.append(sample)


def percentile(values, pct):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def drive(target, exp_id, threads, seconds, pick, recorder, on_start=None):
    """Start `threads` clients, let them run `seconds` after all are set up, return the wall time."""
    setup_errors = []
    timing = {}

    def go():
        timing["start"] = recorder.start = time.perf_counter()
        timing["deadline"] = recorder.start + seconds
        if on_start:
            on_start()

    barrier = threading.Barrier(threads, action=go)

    def loop(index):
        client = None
        # Setup is not measured: a few tries ride out a short outage (a redeploy of the stack).
        for attempt in range(3):
            try:
                client = Client(target, exp_id)
                break
            except (requests.RequestException, RuntimeError, KeyError, ValueError) as exc:
                if attempt == 2:
                    setup_errors.append(f"{type(exc).__name__}: {exc}"[:300])
                else:
                    time.sleep(2)
        try:
            barrier.wait(timeout=target.timeout * 3)
        except threading.BrokenBarrierError:
            return
        if client is None:
            return
        rng = random.Random(index)
        while (started := time.perf_counter()) < timing["deadline"]:
            op = pick(rng)
            try:
                response = getattr(client, op)()
            except requests.RequestException as exc:
                recorder.record(started, time.perf_counter(), exc=exc)
            else:
                recorder.record(started, time.perf_counter(), response=response)

    workers = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    # Bounded: setup, the run itself, and one request timeout for the last requests in flight.
    limit = time.monotonic() + target.timeout * 4 + seconds + 10
    for worker in workers:
        worker.join(max(0.0, limit - time.monotonic()))
    if "start" not in timing:
        return None, setup_errors or ["clients never started"]
    return time.perf_counter() - timing["start"], setup_errors


def summary(recorder, wall, setup_errors):
    lat = recorder.latencies
    ok = len(lat) - recorder.errors
    result = {
        "count": len(lat),
        "errors": recorder.errors + len(setup_errors),
        "rps": round(ok / wall, 2) if wall else 0.0,
        "p50_ms": round(percentile(lat, 50) * 1000, 1) if lat else None,
        "p99_ms": round(percentile(lat, 99) * 1000, 1) if lat else None,
        "mean_ms": round(sum(lat) / len(lat) * 1000, 1) if lat else None,
        "seconds": round(wall or 0.0, 2),
        "error_kinds": {str(k): v for k, v in recorder.kinds.items()},
        "error_samples": [{"setup": e} for e in setup_errors[:SAMPLES]] + recorder.error_samples,
    }
    return result


# --- memory ---------------------------------------------------------------------------------------

def unit_pids(unit):
    """Processes of a systemd unit, from its cgroup (v1 hybrid or v2), or its MainPID as a fallback."""
    show = subprocess.run(["systemctl", "show", "-p", "MainPID", "-p", "ControlGroup", unit],
                          capture_output=True, text=True, timeout=10, check=False)
    props = dict(line.split("=", 1) for line in show.stdout.splitlines() if "=" in line)
    main_pid, cgroup = props.get("MainPID", "0"), props.get("ControlGroup", "")
    if cgroup:
        for root in ("/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
            base = root + cgroup
            if os.path.isfile(base + "/cgroup.procs"):
                pids = set()
                for path, _dirs, files in os.walk(base):
                    if "cgroup.procs" in files:
                        with open(path + "/cgroup.procs", encoding="ascii") as handle:
                            pids.update(int(p) for p in handle.read().split())
                return pids
    return tree_pids(int(main_pid)) if main_pid.strip().isdigit() and int(main_pid) else set()


def tree_pids(root):
    """A process and its descendants (the stock server is no unit)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                    ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in found and os.path.exists(f"/proc/{pid}"):
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found


def memory_of(pids):
    """RSS and PSS in MiB; RSS counts pages shared by forked workers once per process, PSS splits them."""
    rss = pss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup", encoding="ascii", errors="replace") as handle:
                for line in handle:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            continue
    return {"rss_mib": round(rss / 1024, 1), "pss_mib": round(pss / 1024, 1), "processes": len(pids)}


def group_pids(spec):
    if "unit" in spec:
        return unit_pids(spec["unit"])
    try:
        with open(spec["pid_file"], encoding="ascii") as handle:
            return tree_pids(int(handle.read().strip()))
    except (OSError, ValueError):
        return set()


def sample_memory(groups):
    return {name: memory_of(group_pids(spec)) for name, spec in groups.items()}


class MemorySampler:
    """Peak memory per group while a target is under load, sampled every second in the background."""

    def __init__(self, groups):
        self.groups = groups
        self.peaks = {}
        self.stop = threading.Event()
        self.target = None

    def loop(self):
        while not self.stop.wait(1.0):
            if self.target is None:
                continue
            peaks = self.peaks.setdefault(self.target, {})
            for name, value in sample_memory(self.groups).items():
                if value["processes"] and value["rss_mib"] > peaks.get(name, {}).get("rss_mib", -1):
                    peaks[name] = value


# --- modes ----------------------------------------------------------------------------------------

def version(target):
    try:
        session = target.session()
        response = session.get(target.url + "/version", timeout=target.timeout)
        return response.text.strip()[:40] if response.ok else f"HTTP {response.status_code}"
    except requests.RequestException as exc:
        return f"{type(exc).__name__}"


def machine():
    info = {"cpus": os.cpu_count(), "kernel": os.uname().release}
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            info["cpu"] = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "")
        with open("/proc/meminfo", encoding="ascii") as handle:
            info["mem_mib"] = int(handle.readline().split()[1]) // 1024
        with open("/etc/os-release", encoding="ascii", errors="replace") as handle:
            info["os"] = next((line.split("=", 1)[1].strip().strip('"') for line in handle if line.startswith("PRETTY_NAME=")), "")
    except (OSError, ValueError):
        pass
    return info


def meta(targets, config):
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        # The host is shared: its load when the run began puts the numbers in context.
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
        "requests": requests.__version__,
        "targets": [{"name": t.name, "url": t.url, "auth": auth_kind(t), "mlflow_version": version(t)} for t in targets],
        "experiment": config["experiment"],
        # What a process-tree group (the stock server) runs, so that its defaults are on record.
        "processes": {name: processes(spec) for name, spec in config.get("memory", {}).items() if "pid_file" in spec},
    }


def processes(spec):
    lines = []
    for pid in sorted(group_pids(spec)):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                lines.append(handle.read().replace(b"\0", b" ").decode(errors="replace").strip()[:160])
        except OSError:
            continue
    return lines


def auth_kind(target):
    value = next((v for k, v in target.headers.items() if k.lower() == "authorization"), "")
    return value.split(" ", 1)[0].lower() if value else "none"


def matrix(config, targets):
    threads_list = config.get("threads", [1, 8, 32])
    ops = config.get("ops", list(OPS))
    seconds = config.get("duration", 15)
    exp_ids = {t.name: experiment_id(t, t.session(), config["experiment"]) for t in targets}
    groups = config.get("memory", {})
    sampler = MemorySampler(groups)
    idle = sample_memory(groups) if groups else {}
    watcher = threading.Thread(target=sampler.loop, daemon=True)
    watcher.start()
    # Fresh workers (the stock server was just started) pay for imports and pools on their first
    # requests: every target gets the same unrecorded warm-up first.
    for target in targets:
        drive(target, exp_ids[target.name], max(threads_list), config.get("warmup", 5),
              lambda rng: rng.choice(SOAK_MIX), Recorder())
    cases = []
    for op in ops:
        for threads in threads_list:
            # Every target in turn for the same case, so that drift on the host hits all alike.
            for target in targets:
                recorder = Recorder()
                sampler.target = target.name
                wall, setup_errors = drive(target, exp_ids[target.name], threads, seconds, lambda _rng, op=op: op, recorder)
                sampler.target = None
                case = {"op": op, "threads": threads, "target": target.name, **summary(recorder, wall, setup_errors)}
                cases.append(case)
                print(f"{op:12} {threads:3} {target.name:12} {case['rps']:8.1f} req/s  p50 {case['p50_ms']} ms"
                      f"  p99 {case['p99_ms']} ms  errors {case['errors']}", file=sys.stderr, flush=True)
    sampler.stop.set()
    delete_experiment(targets[0], exp_ids[targets[0].name])
    return {"cases": cases, "loadavg_end": [round(x, 2) for x in os.getloadavg()],
            "memory": {"idle": idle, "load_peak": sampler.peaks} if groups else {}}


def delete_experiment(target, exp_id):
    """Deleted (soft) afterwards, so that the demo's gc timer purges the benchmark's runs."""
    try:
        target.post(target.session(), "/experiments/delete", {"experiment_id": exp_id})
    except requests.RequestException as exc:
        print(f"could not delete experiment {exp_id}: {exc}", file=sys.stderr)


def soak(config, target, seconds, threads, started_file):
    exp_id = experiment_id(target, target.session(), config["experiment"] + "-soak")
    recorder = Recorder(samples=20)
    marker = {}

    def on_start():
        # Written when timing starts, so that outside actions line up with the per-second timeline.
        marker["t"] = time.time()
        if started_file:
            with open(started_file, "w", encoding="ascii") as handle:
                handle.write(f"{marker['t']:.3f}\n")

    wall, setup_errors = drive(target, exp_id, threads, seconds, lambda rng: rng.choice(SOAK_MIX), recorder, on_start)
    delete_experiment(target, exp_id)
    mix = {op: round(SOAK_MIX.count(op) / len(SOAK_MIX), 2) for op in OPS}
    result = {"target": target.name, "threads": threads, "duration": seconds, "mix": mix, "started": marker.get("t")}
    result.update(summary(recorder, wall, setup_errors))
    last = max(recorder.per_second, default=-1)
    result["per_second"] = [recorder.per_second.get(s, [0, 0]) for s in range(last + 1)]
    return result


def wait(url, timeout, verify):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=5, verify=verify).status_code == 200:
                return 0
        except requests.RequestException:
            pass
        time.sleep(1)
    print(f"{url} did not answer within {timeout} s", file=sys.stderr)
    return 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config")
    parser.add_argument("--out")
    parser.add_argument("--soak", type=int, metavar="SECONDS")
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--target")
    parser.add_argument("--started-file")
    parser.add_argument("--wait", metavar="URL")
    parser.add_argument("--timeout", type=int, default=120)
    args = parser.parse_args()
    with open(args.config, encoding="utf-8") as handle:
        config = json.load(handle)
    if args.wait:
        return wait(args.wait, args.timeout, False)
    targets = [Target(spec, config.get("timeout", 30)) for spec in config["targets"]]
    if args.target:
        targets = [t for t in targets if t.name == args.target]
        if not targets:
            parser.error(f"no target {args.target}")
    result = {"meta": meta(targets, config)}
    if args.soak:
        result["soak"] = soak(config, targets[0], args.soak, args.threads, args.started_file)
    else:
        result.update(matrix(config, targets))
    text = json.dumps(result, indent=1)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
