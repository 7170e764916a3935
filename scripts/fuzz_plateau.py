#!/usr/bin/env python3
"""Runs cargo-fuzz targets one at a time to a coverage plateau, measured in CPU time.

    scripts/fuzz_plateau.py [--deadline HH:MM] [--nice 19] [--plateau 300] \
        [--out DIR] TARGET:CPU_MINUTES [TARGET:CPU_MINUTES ...]

Build the targets first (`cd fuzz && cargo +nightly fuzz build -O`, with the same
CARGO_TARGET_DIR as scripts/fuzz.sh: ~/.cache/porchlight-fuzz-target unless FUZZ_TARGET_DIR
says otherwise). Each target's binary is started directly (one process, one job) under
`nice`, from its committed corpus `fuzz/corpus/<target>/`, new inputs written to
`DIR/<target>/` (the committed corpus is never written), crashes to `fuzz/artifacts/<target>/`.

Every line libFuzzer writes is stamped with the wall seconds since start and the CPU seconds
(utime + stime from /proc/<pid>/stat) the fuzzing process has used: on a shared machine the
wall clock says little about how much fuzzing was done. A sample is also logged every
30 wall seconds. The log is `DIR/<target>.log`; a summary is `DIR/<target>.json`.

Plateau: libFuzzer's `cov:` (edges reached) has not grown for PLATEAU CPU seconds (default
300) of fuzzing after `INITED` (the end of the corpus load). A target stops at its plateau,
at its CPU cap (CPU seconds after INITED), or, with --deadline, at its share of the wall time
left. With --deadline (UTC, today or after midnight), when the caps left would not fit in the
wall time left at the CPU share measured so far, every remaining cap is cut by the same
factor (recomputed before each target).
"""

import argparse
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICKS = os.sysconf("SC_CLK_TCK")
COV = re.compile(r"^#(\d+)\s+(\w+)\s+cov: (\d+)")
EXECS = re.compile(r"stat::number_of_executed_units:\s*(\d+)")


def cpu_seconds(pid):
    """utime + stime of `pid` in seconds, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def run(target, cap_cpu, plateau, out, nice, wall_limit, extra):
    target_dir = os.environ.get(
        "FUZZ_TARGET_DIR", os.path.expanduser("~/.cache/porchlight-fuzz-target"))
    binary = os.path.join(target_dir, "x86_64-unknown-linux-gnu", "release", target)
    corpus = os.path.join(ROOT, "fuzz", "corpus", target)
    scratch = os.path.join(out, target)
    artifacts = os.path.join(ROOT, "fuzz", "artifacts", target) + "/"
    os.makedirs(scratch, exist_ok=True)
    os.makedirs(artifacts, exist_ok=True)
    args = [binary, scratch, corpus, "-timeout=10", "-rss_limit_mb=2048",
            "-print_final_stats=1", f"-artifact_prefix={artifacts}"] + extra
    env = dict(os.environ)
    # As `cargo fuzz run` does for AddressSanitizer builds.
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "detect_odr_violation=0")
    log = open(os.path.join(out, f"{target}.log"), "w")
    log.write(f"# {' '.join(args)}\n# cpu cap {cap_cpu:.0f} s after INITED, plateau "
              f"{plateau} s, wall limit {wall_limit if wall_limit else 'none'}\n")
    start = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=env, preexec_fn=lambda: os.nice(nice))
    state = {"cpu": 0.0, "inited": None, "cov": [], "execs": None, "lines": 0}
    lock = threading.Lock()

    def reader():
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            cpu = cpu_seconds(proc.pid)
            wall = time.monotonic() - start
            with lock:
                if cpu is not None:
                    state["cpu"] = cpu
                cpu = state["cpu"]
                log.write(f"{wall:9.1f} {cpu:9.1f} | {line}\n")
                m = COV.match(line)
                if m:
                    n, kind, cov = int(m.group(1)), m.group(2), int(m.group(3))
                    if kind == "INITED":
                        state["inited"] = (wall, cpu, cov, n)
                    # (cpu, wall, cov, executions) at every status line.
                    state["cov"].append((cpu, wall, cov, n))
                m = EXECS.search(line)
                if m:
                    state["execs"] = int(m.group(1))

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    reason = None
    last_sample = 0.0
    while proc.poll() is None:
        time.sleep(1)
        cpu = cpu_seconds(proc.pid)
        wall = time.monotonic() - start
        with lock:
            if cpu is not None:
                state["cpu"] = max(state["cpu"], cpu)
            cpu = state["cpu"]
            if wall - last_sample >= 30:
                last_sample = wall
                log.write(f"{wall:9.1f} {cpu:9.1f} # sample\n")
            log.flush()
            inited = state["inited"]
            if inited is None or reason is not None:
                if reason is None and wall_limit and wall >= wall_limit:
                    reason = "wall limit (before INITED)"
                    proc.send_signal(signal.SIGINT)
                continue
            cov = state["cov"]
            # CPU time of the last status line whose cov is higher than the one before it.
            last_edge = inited[1]
            for prev, cur in zip(cov, cov[1:]):
                if cur[2] > prev[2]:
                    last_edge = cur[0]
            if cpu - max(last_edge, inited[1]) >= plateau:
                reason = "plateau"
            elif cpu - inited[1] >= cap_cpu:
                reason = "cpu cap"
            elif wall_limit and wall >= wall_limit:
                reason = "wall limit"
            if reason:
                log.write(f"{wall:9.1f} {cpu:9.1f} # stop: {reason}\n")
                proc.send_signal(signal.SIGINT)  # libFuzzer prints its final stats and exits
    thread.join(timeout=30)
    rc = proc.returncode
    wall = time.monotonic() - start
    log.write(f"{wall:9.1f} {state['cpu']:9.1f} # exit {rc}\n")
    log.close()
    return summarise(target, state, reason, rc, wall, cap_cpu, plateau, artifacts)


def summarise(target, state, reason, rc, wall, cap_cpu, plateau, artifacts):
    cov = state["cov"]
    inited = state["inited"]
    s = {"target": target, "stop": reason, "exit": rc, "wall_s": round(wall, 1),
         "cpu_total_s": round(state["cpu"], 1), "cpu_cap_s": round(cap_cpu),
         "executions": state["execs"],
         "artifacts": sorted(os.listdir(artifacts)) if os.path.isdir(artifacts) else []}
    if inited:
        t0 = inited[1]
        fuzz_cpu = state["cpu"] - t0
        s.update({"cpu_load_s": round(t0, 1), "cpu_fuzzing_s": round(fuzz_cpu, 1),
                  "wall_load_s": round(inited[0], 1), "cov_start": inited[2],
                  "cov_end": cov[-1][2]})

        def cov_at(c):
            v = inited[2]
            for (cpu, _, cv, _) in cov:
                if cpu <= c:
                    v = max(v, cv)
            return v

        s["cov_quarters"] = [cov_at(t0 + fuzz_cpu * q) for q in (0.25, 0.5, 0.75)]
        last_edge = t0
        for prev, cur in zip(cov, cov[1:]):
            if cur[2] > prev[2]:
                last_edge = cur[0]
        s["last_new_edge_cpu_s"] = round(last_edge - t0, 1)
        s["new_edges_last_plateau_window"] = s["cov_end"] - cov_at(state["cpu"] - plateau)
        execs = state["execs"]
        if execs is not None and state["cpu"] > 0:
            s["exec_per_cpu_s"] = round(execs / state["cpu"])
        s["plateau"] = reason == "plateau"
    return s


def report(out, targets):
    """Markdown rows from the logs and summaries a run left in `out`."""
    rows, curves = [], []
    for target in targets:
        with open(os.path.join(out, f"{target}.json")) as f:
            s = json.load(f)
        cov = []
        with open(os.path.join(out, f"{target}.log")) as f:
            for line in f:
                if "|" not in line:
                    continue
                head, text = line.split("|", 1)
                m = COV.match(text.strip())
                if m:
                    cov.append((float(head.split()[1]), int(m.group(3))))
        t0, fuzz = s["cpu_load_s"], s["cpu_fuzzing_s"]

        def at(c):
            return max([s["cov_start"]] + [v for (cpu, v) in cov if cpu <= c])

        q = " · ".join(f"{v:,}" for v in s["cov_quarters"])
        rows.append(
            f"| `{target}` | {fuzz:,.0f} s (+{t0:,.0f} s load) | {s['wall_s']:,.0f} s "
            f"| {s['executions']:,} | {s['exec_per_cpu_s']:,} | {s['cov_start']:,} → "
            f"{s['cov_end']:,} | {q} | {s['last_new_edge_cpu_s']:,.0f} s "
            f"({100 * s['last_new_edge_cpu_s'] / fuzz:.0f}%) "
            f"| {s['new_edges_last_plateau_window']} | {len(s['artifacts'])} "
            f"| {'yes' if s['plateau'] else 'no'} ({s['stop']}) |")
        curves.append(f"| `{target}` | " + " | ".join(
            f"{at(t0 + fuzz * k / 10):,}" for k in range(1, 11)) + " |")
    print("\n".join(rows))
    print()
    print("\n".join(curves))


def deadline_seconds(hhmm):
    now = datetime.datetime.now(datetime.timezone.utc)
    h, m = map(int, hhmm.split(":"))
    d = now.replace(hour=h, minute=m, second=0, microsecond=0)
    if d < now - datetime.timedelta(hours=12):
        d += datetime.timedelta(days=1)
    return (d - now).total_seconds()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("targets", nargs="+", help="TARGET:CPU_MINUTES")
    p.add_argument("--deadline", help="UTC HH:MM by which every run has stopped")
    p.add_argument("--nice", type=int, default=19)
    p.add_argument("--plateau", type=int, default=300, help="CPU seconds without a new edge")
    p.add_argument("--share", type=float, default=0.8,
                   help="CPU share of a core assumed before one is measured")
    p.add_argument("--out", default="/tmp/fuzz-plateau")
    p.add_argument("--report", action="store_true",
                   help="print the table rows of a finished run in --out instead")
    a = p.parse_args()
    if a.report:
        report(a.out, [t.split(":")[0] for t in a.targets])
        return 0
    plan = [(t.split(":")[0], float(t.split(":")[1]) * 60) for t in a.targets]
    os.makedirs(a.out, exist_ok=True)
    summaries = []
    used_cpu = used_wall = 0.0
    for i, (target, cap) in enumerate(plan):
        wall_limit = None
        if a.deadline:
            left = deadline_seconds(a.deadline)
            share = used_cpu / used_wall if used_wall > 60 else a.share
            caps_left = sum(c for _, c in plan[i:])
            # Corpus loads take CPU too: count 5% on top of the caps.
            factor = min(1.0, left * share / (caps_left * 1.05))
            cap *= factor
            # This target's part of the wall time left, in proportion to its cap.
            wall_limit = left * plan[i][1] / caps_left
            print(f"{target}: {left:.0f} s of wall time left, CPU share {share:.2f}, "
                  f"caps x{factor:.2f}: {cap:.0f} CPU s, wall limit {wall_limit:.0f} s",
                  flush=True)
        s = run(target, cap, a.plateau, a.out, a.nice, wall_limit, [])
        s["cap_factor"] = round(cap / plan[i][1], 3)
        used_cpu += s["cpu_total_s"]
        used_wall += s["wall_s"]
        with open(os.path.join(a.out, f"{target}.json"), "w") as f:
            json.dump(s, f, indent=1)
        print(json.dumps(s), flush=True)
        summaries.append(s)
        if s["artifacts"] or (s["exit"] not in (0, 72) and s["stop"] is None):
            print(f"{target}: stopped with exit {s['exit']}, artifacts {s['artifacts']}",
                  flush=True)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
