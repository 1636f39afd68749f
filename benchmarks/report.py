"""docs/benchmarks.md and its plots from a make bench results file; every number comes from that file.

  report.py [RESULTS] [--md FILE] [--plots DIR] [--no-plots] [--print]
RESULTS defaults to benchmarks/results/latest.json. Runs with the controller venv plus matplotlib.
"""

import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPS = {"log_batch": "log_batch (10 metrics)", "search_runs": "search_runs (max_results 20)",
       "get_run": "get_run", "create_run": "create_run"}
RATIOS = (("nginx-basic", "stock"), ("nginx-token", "stock"), ("nginx-basic", "nginx-token"), ("direct", "stock"))
TARGETS = {
    "stock": "stock `mlflow server` with its defaults (processes below), same PostgreSQL, no proxy",
    "nginx-basic": "the role's stack through nginx + TLS, HTTP basic auth (the default)",
    "nginx-token": "the role's stack through nginx + TLS, bearer token",
    "direct": "the role's gunicorn on 127.0.0.1:5000, no nginx, no auth",
}


def num(value, digits=1):
    if value is None:
        return "-"
    if isinstance(value, float) and abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def load_section(res, plots):
    cases = res["cases"]
    targets = list(dict.fromkeys(c["target"] for c in cases))
    by = {(c["op"], c["threads"], c["target"]): c for c in cases}
    out = []
    for op in dict.fromkeys(c["op"] for c in cases):
        threads = sorted({c["threads"] for c in cases if c["op"] == op})
        out.append(f"### {OPS.get(op, op)}\n\n")
        rows = []
        for t in threads:
            for target in targets:
                c = by.get((op, t, target))
                if c:
                    rows.append([t, target, num(c["rps"]), num(c["p50_ms"]), num(c["p99_ms"]), c["count"], c["errors"]])
        out.append(table(["threads", "target", "req/s", "p50 ms", "p99 ms", "requests", "errors"], rows))
        rows = []
        for t in threads:
            row = [t]
            for a, b in RATIOS:
                ca, cb = by.get((op, t, a)), by.get((op, t, b))
                ok = ca and cb and cb["rps"] and cb["p99_ms"] and ca["p99_ms"]
                row.append(f"**{ca['rps'] / cb['rps']:.2f}x**, p99 {ca['p99_ms'] / cb['p99_ms']:.2f}x" if ok else "-")
            rows.append(row)
        out.append("\nRatios: req/s in bold (above 1x: more throughput), then p99 (above 1x: a longer tail):\n\n")
        out.append(table(["threads"] + [f"{a} / {b}" for a, b in RATIOS], rows))
        if plots:
            out.append(f"\n![throughput {op}](benchmarks/throughput-{op}.png) ![p99 {op}](benchmarks/p99-{op}.png)\n")
        out.append("\n")
    failed = [c for c in cases if c["errors"]]
    if failed:
        out.append("Failed requests, first samples per case:\n\n")
        for c in failed:
            out.append(f"- {c['op']} x{c['threads']} {c['target']}: {c['errors']} ({kinds(c) or 'setup'})\n")
            for sample in c["error_samples"][:3]:
                out.append(f"  - `{sample_text(sample)}`\n")
        out.append("\n")
    return "".join(out)


def kinds(case):
    """Failures by kind: 'HTTP 502: 30, ConnectionError: 2'."""
    return ", ".join(f"{'HTTP ' + k if k.isdigit() else k}: {n}" for k, n in case.get("error_kinds", {}).items())


def sample_text(sample):
    text = sample.get("setup") or sample.get("error") or f"HTTP {sample.get('status')} {sample.get('body', '')}"
    prefix = f"+{sample['t']}s " if "t" in sample else ""
    return (prefix + " ".join(str(text).split()))[:200].replace("`", "'")


def soak_section(soak):
    mix = ", ".join(f"{op} {round(share * 100)} %" for op, share in soak.get("mix", {}).items())
    out = [f"{soak.get('duration', soak['seconds'])} s of mixed requests ({mix}) from {soak['threads']} threads through "
           f"`{soak['target']}`, while:\n\n"]
    out += [f"- at +{a['t']} s: {a['action']} (exit {a['rc']}{', ' + a['output'] if a['output'] else ''})\n"
            for a in soak.get("actions", [])]
    out.append("\n")
    out.append(table(["requests", "failed", "req/s", "p50 ms", "p99 ms", "slowest second, req/s"],
                     [[soak["count"], soak["errors"], num(soak["rps"]), num(soak["p50_ms"]), num(soak["p99_ms"]),
                       min((second[0] for second in soak["per_second"][:-1]), default="-")]]))
    if soak["errors"]:
        out.append(f"\nFailed requests by kind: {kinds(soak) or 'not recorded'}. First samples of each:\n\n")
        out += [f"- `{sample_text(s)}`\n" for s in soak["error_samples"][:10]]
    return "".join(out)


def artifacts_section(art):
    paths = art["paths"]
    presigned = f" from {paths['presigned_endpoint']}" if paths.get("presigned_endpoint") else ""
    out = [f"One {art['size_mib']} MiB random file: the MLflow {art['mlflow_version']} client in the container "
           f"against {art['tracking_uri']} with basic auth (its default ways: upload {paths['upload']}, download "
           f"{paths['download']}{presigned}), and boto3 straight to the store at {art['s3_endpoint']} with the "
           f"server's credentials and bucket. Every download is checked by SHA-256. The client retries a failed "
           f"request {art.get('client_retries', 'its default number of')} time(s).\n\n"]
    rows = [[t["transfer"], num(t["seconds"], 2), num(t["mib_s"]), ", ".join(num(r) for r in t.get("runs_mib_s", []))]
            if "error" not in t else
            [t["transfer"], "**failed**", "`" + " ".join(t["error"].split())[:200].replace("`", "'") + "`", ""]
            for t in art["transfers"].values()]
    out.append(table(["transfer", "median seconds", "median MiB/s", "each run, MiB/s"], rows))
    out.append("\n" + table(["ratio (against the better direct way)", "value"],
                            [[k, f"{v:.2f}x" if v is not None else "-"] for k, v in art["ratios"].items()]))
    out.append("\nSHA-256 checks: " + ", ".join(f"{k} {'ok' if v else '**FAILED**'}" for k, v in art["sha256_ok"].items()) + "\n")
    return "".join(out)


def memory_section(mem):
    idle, peaks = mem.get("idle", {}), mem.get("load_peak", {})
    rows = []
    for group, value in idle.items():
        seen = [(target, p[group]) for target, p in peaks.items() if group in p]
        top = max(seen, key=lambda s: s[1]["rss_mib"], default=None)
        if top and top[1]["rss_mib"] <= value["rss_mib"]:
            top = (None, top[1])
        rows.append([group, value["processes"], num(value["rss_mib"]), num(value["pss_mib"]),
                     num(top[1]["rss_mib"]) if top else "-", num(top[1]["pss_mib"]) if top else "-",
                     top[0] if top and top[0] else "-"])
    return ("RSS sums every process of the unit (pages shared by forked workers count once per process); PSS "
            "splits shared pages, so it adds up. Peak: the highest one-second sample during the load cases.\n\n"
            + table(["service", "processes", "idle RSS MiB", "idle PSS MiB", "peak RSS MiB", "peak PSS MiB",
                     "peak while loading"], rows))


def converge_section(conv):
    bare, noop, raw = conv.get("site_bare"), conv.get("site_noop"), conv.get("raw")

    def recap(run):
        r = run.get("recap") or {}
        return f"ok={r.get('ok', '?')} changed={r.get('changed', '?')} failed={r.get('failed', '?')}"
    rows = []
    if bare:
        rows.append(["`site.yml` on a bare Debian 12 container", num(bare["seconds"]), recap(bare)])
    if noop:
        rows.append(["`site.yml` again (no-op)", num(noop["seconds"]), recap(noop)])
    if raw:
        rows.append(["raw `apt-get install` + `pip install` of the same packages", num(raw["seconds"]), "-"])
    if bare and raw and raw["seconds"]:
        rows.append(["site.yml from bare / raw install", f"{bare['seconds'] / raw['seconds']:.2f}x", ""])
    out = []
    if conv.get("failed"):
        out.append("**The converge run failed part way; what finished is below.** Its last lines:\n\n```\n"
                   + conv["failed"].strip()[-1500:] + "\n```\n\n")
    out.append(table(["what", "seconds", "result"], rows))
    if noop and noop.get("changed_tasks"):
        out.append("\nTasks that reported a change on the no-op re-run: "
                   + ", ".join(f"`{t}`" for t in noop["changed_tasks"]) + ".\n")
    if raw:
        out.append("\nRaw install, step by step:\n\n" + table(["step", "seconds"], [[s["step"], num(s["seconds"])] for s in raw["steps"]]))
    for title, run in (("No-op re-run", noop), ("Converge from bare", bare)):
        if run and run.get("top_tasks"):
            out.append(f"\n{title}, slowest tasks (profile_tasks):\n\n"
                       + table(["task", "seconds"], [[t["task"].replace("|", "\\|"), num(t["seconds"], 2)] for t in run["top_tasks"]]))
    return "".join(out)


def acceptance(res):
    """Issue 13's acceptance criteria, checked against this run: (criterion, measured, verdict) rows."""
    by = {(c["op"], c["threads"], c["target"]): c for c in res["cases"]}
    rows = []

    def verdict(ok):
        return "pass" if ok else "**FAIL**"
    for op in ("log_batch", "search_runs"):
        stock = by.get((op, 8, "stock"))
        for target in ("nginx-basic", "nginx-token"):
            c = by.get((op, 8, target))
            if stock and c and stock["rps"] and stock["p99_ms"] and c["p99_ms"]:
                ratio = c["rps"] / stock["rps"]
                rows.append([f"{op} x8 {target}: >= 1.5x stock req/s, p99 <= stock, 0 errors",
                             f"{ratio:.2f}x, p99 {num(c['p99_ms'])} vs {num(stock['p99_ms'])} ms, {c['errors']} errors",
                             verdict(ratio >= 1.5 and c["p99_ms"] <= stock["p99_ms"] and c["errors"] == 0)])
        basic, token = by.get((op, 8, "nginx-basic")), by.get((op, 8, "nginx-token"))
        if basic and token and token["rps"]:
            rows.append([f"{op} x8: basic auth within 10 % of the token's req/s", f"{basic['rps'] / token['rps']:.2f}x",
                         verdict(basic["rps"] >= 0.9 * token["rps"])])
    soak = res.get("soak")
    if soak:
        rows.append([f"soak ({soak.get('duration', soak['seconds'])} s, {soak['threads']} threads, worker kill + reload): 0 failed",
                     f"{soak['errors']} failed of {soak['count']}", verdict(soak["errors"] == 0)])
    if "artifacts" not in res:
        rows.append(["artifacts through the published endpoints >= 0.7x direct", "no results", "**FAIL**"])
    for name, value in (res.get("artifacts") or {}).get("ratios", {}).items():
        if "forced" not in name:
            rows.append([f"artifacts {name} >= 0.7x", f"{value:.2f}x" if value is not None else "failed",
                         verdict(value is not None and value >= 0.7)])
    conv = res.get("converge") or {}
    if conv.get("site_noop"):
        noop = conv["site_noop"]
        rows.append(["no-op re-run of site.yml <= 30 s", f"{num(noop['seconds'])} s", verdict(noop["seconds"] <= 30)])
        changed = (noop.get("recap") or {}).get("changed")
        rows.append(["no-op re-run changes nothing", f"changed={changed}", verdict(changed == 0)])
    if conv.get("site_bare") and conv.get("raw") and conv["raw"]["seconds"]:
        ratio = conv["site_bare"]["seconds"] / conv["raw"]["seconds"]
        rows.append(["converge from bare <= 1.5x the raw install", f"{ratio:.2f}x", verdict(ratio <= 1.5)])
    return rows


def processes_section(groups):
    out = []
    for group, lines in groups.items():
        out.append(f"\n<details><summary>Processes of the {group} ({len(lines)})</summary>\n\n```\n"
                   + "\n".join(lines) + "\n```\n</details>\n")
    return "".join(out)


def loadavg(meta):
    if not meta.get("loadavg"):
        return ""
    end = f", at the end of the load cases {' / '.join(map(str, meta['loadavg_end']))}" if meta.get("loadavg_end") else ""
    return f"- Host load average (1 / 5 / 15 min) at the start: {' / '.join(map(str, meta['loadavg']))}{end}.\n"


def markdown(res, source, plots):
    meta = res["meta"]
    m = meta["machine"]
    threads = sorted({c["threads"] for c in res["cases"]})
    seconds = max((c["seconds"] for c in res["cases"]), default=0)
    out = ["# Benchmarks\n\n",
           f"Generated by `make bench` (`benchmarks/run.sh`, then `benchmarks/report.py`) from `{source}`; "
           "regenerate rather than edit. The smoke run in CI (`BENCH_SMOKE=1`) only checks that the command works.\n\n",
           "## Setup\n\n",
           f"- When: {meta['time']}{' (smoke run: numbers not meaningful)' if meta.get('smoke') else ''}\n",
           f"- Machine: {m.get('cpus')} CPUs ({m.get('cpu', '?')}), {num(m.get('mem_mib'))} MiB RAM, kernel "
           f"{m.get('kernel')}; the demo container ({m.get('os', '?')}) runs every server and the clients, which share "
           "the CPUs with them.\n",
           loadavg(meta),
           f"- Clients: `benchmarks/load.py` (Python {meta['python']}, requests {meta['requests']}), one thread per "
           f"client, each with its own keep-alive session and its own run; {threads} threads, about "
           f"{round(seconds)} s per case after setup; targets interleaved per case so that drift hits all alike.\n",
           "- req/s counts successful requests; p50 and p99 are over every request; errors are non-2xx answers "
           "and exceptions.\n",
           f"- Experiment `{meta['experiment']}`, one database for every target.\n\n",
           table(["target", "what", "MLflow", "URL"],
                 [[t["name"], TARGETS.get(t["name"], t["auth"]), t["mlflow_version"], t["url"]] for t in meta["targets"]]),
           processes_section(meta.get("processes", {})),
           "\n## Against the acceptance criteria of issue 13\n\n",
           table(["criterion", "measured", ""], acceptance(res)) if acceptance(res) else "Nothing to check in this run.\n",
           "\n## Load\n\n", load_section(res, plots)]
    if res.get("soak"):
        out += ["## Soak: a worker killed and a graceful reload under load\n\n", soak_section(res["soak"])]
        if plots:
            out.append("\n![soak](benchmarks/soak.png)\n")
        out.append("\n")
    if res.get("artifacts"):
        out += ["## Artifacts\n\n", artifacts_section(res["artifacts"]), "\n"]
    if res.get("memory"):
        out += ["## Memory\n\n", memory_section(res["memory"]), "\n"]
    if res.get("converge"):
        out += ["## Converge\n\n", converge_section(res["converge"]), "\n"]
    else:
        out.append("## Converge\n\nNot measured in this run (`BENCH_CONVERGE=1 make bench` adds it).\n")
    return "".join(out)


def plot(res, directory):
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    os.makedirs(directory, exist_ok=True)
    cases = res["cases"]
    for op in dict.fromkeys(c["op"] for c in cases):
        for key, label, name in (("rps", "requests/s", "throughput"), ("p99_ms", "p99 latency, ms", "p99")):
            fig, ax = plt.subplots(figsize=(6, 4))
            for target in dict.fromkeys(c["target"] for c in cases):
                points = sorted((c["threads"], c[key]) for c in cases if c["op"] == op and c["target"] == target and c[key] is not None)
                if points:
                    ax.plot(*zip(*points), marker="o", label=target)
            ax.set_xscale("log", base=2)
            ax.set_xticks(sorted({c["threads"] for c in cases}))
            ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
            ax.set_xlabel("client threads")
            ax.set_ylabel(label)
            ax.set_title(f"{OPS.get(op, op)}: {label}")
            ax.set_ylim(bottom=0)
            ax.grid(alpha=0.3)
            ax.legend()
            fig.tight_layout()
            fig.savefig(os.path.join(directory, f"{name}-{op}.png"), dpi=90)
            plt.close(fig)
    soak = res.get("soak")
    if soak:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        seconds = range(len(soak["per_second"]))
        ax.plot(seconds, [second[0] for second in soak["per_second"]], label="ok req/s")
        ax.plot(seconds, [second[1] for second in soak["per_second"]], label="failed req/s", color="red")
        for action in soak.get("actions", []):
            ax.axvline(float(action["t"]), color="grey", linestyle="--")
            ax.annotate(action["action"], (float(action["t"]), 0), rotation=90, fontsize=7, va="bottom")
        ax.set_xlabel("seconds")
        ax.set_ylim(bottom=0)
        ax.set_title(f"soak through {soak['target']}, {soak['threads']} threads")
        ax.legend(loc="upper right")
        fig.tight_layout()
        fig.savefig(os.path.join(directory, "soak.png"), dpi=90)
        plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="?", default=os.path.join(ROOT, "benchmarks/results/latest.json"))
    parser.add_argument("--md", default=os.path.join(ROOT, "docs/benchmarks.md"))
    parser.add_argument("--plots", default=os.path.join(ROOT, "docs/benchmarks"))
    parser.add_argument("--no-plots", action="store_true")
    parser.add_argument("--print", action="store_true", help="also print the markdown")
    args = parser.parse_args()
    with open(args.results, encoding="utf-8") as handle:
        res = json.load(handle)
    # latest.json is a copy: name the file it copies.
    source = "benchmarks/results/" + res["meta"].get("file", os.path.basename(args.results))
    text = markdown(res, source, not args.no_plots)
    if not args.no_plots:
        plot(res, args.plots)
    with open(args.md, "w", encoding="utf-8") as handle:
        handle.write(text)
    if args.print:
        print(text)
    else:
        print(table(["criterion", "measured", ""], acceptance(res)))
    print(f"wrote {args.md}" + ("" if args.no_plots else f" and plots in {args.plots}"), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
