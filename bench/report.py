#!/usr/bin/env python3
"""falconet benchmark report.

    report.py collect SCRATCH_DIR CARGO_LOCK > results.json   # raw run output -> results.json
    report.py render results.json OUT_DIR                     # -> OUT_DIR/RESULTS.md, chart.svg

`bench/run.sh` calls both. `render` needs only results.json, so the report and the chart can
be regenerated (or restyled) without running the benchmark again.
"""

import json
import os
import re
import statistics
import sys

try:
    import tomllib
except ImportError:  # Python < 3.11
    tomllib = None

SERVER_LABELS = {
    "falconet": "falconet",
    "tiny_http": "tiny_http",
    "hyper": "hyper",
    "nginx": "nginx",
    "lighttpd": "lighttpd",
}
SCENARIO_LABELS = {
    "ka1": "keep-alive, 1 conn",
    "ka16": "keep-alive, 16 conns",
    "ka256": "keep-alive, 256 conns",
    "ka1024": "keep-alive, 1024 conns",
    "close16": "Connection: close, 16 conns",
}
HTTPS_LABELS = {
    "tls_ka16": "keep-alive, 16 conns",
    "tls_ka256": "keep-alive, 256 conns",
}
# What each HTTPS server does about session resumption with the settings run.sh gives it (its
# defaults). tls_probe.py's measurement of each run is shown next to this.
TLS_RESUMPTION_DEFAULTS = {
    "falconet": "rustls's defaults (falconet sets none): an in-memory cache of 256 sessions; "
                "TLS 1.3: 2 tickets after each handshake, each an ID into that cache (stateful, "
                "single use); TLS 1.2: session IDs from the same cache, no RFC 5077 tickets",
    "nginx": "`ssl_session_tickets on` (stateless tickets encrypted with a key made at start, "
             "shared by the workers), `ssl_session_cache none` (no server-side cache), "
             "`ssl_session_timeout 5m`",
    "lighttpd": "mod_openssl's defaults: session tickets with keys lighttpd makes itself "
                "(no `ssl.stek-file`)",
}
# Server-side limits that bound the idle and slowhead phases, per server (shown in the report).
SLOWHEAD_TIMEOUTS = {
    "falconet": "RequestHeadersTimeout 30 s (Kestrel default)",
    "nginx": "client_header_timeout 60 s (default)",
    "lighttpd": "server.max-read-idle 60 s (default)",
    "tiny_http": "none",
    "hyper": "header_read_timeout 30 s (hyper 1 default, with a timer; none without)",
}
PEER_CRATES = ["tiny_http", "hyper", "hyper-util", "http-body-util", "tokio", "h2"]
# Labels in the HTTP/2 tables: there `hyper` is bench/peers hyper-h2-hello.
H2_SERVER_LABELS = {
    "falconet": "falconet",
    "hyper": "hyper (http2)",
    "nginx": "nginx (h2c)",
    "lighttpd": "lighttpd (h2c)",
}
# The issue's HTTP/2 goals: falconet's requests/s at least this share of the peer's.
H2_GOALS = [("hyper", 1.0), ("lighttpd", 0.5)]
# A repetition whose h2load run has more failed / errored / timed-out requests than this share
# of all its requests does not count.
H2_MAX_BAD_SHARE = 0.01

# ------------------------------------------------------------------------------ collect


def wrk_time_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not m:
        return None
    v, unit = float(m.group(1)), m.group(2)
    return v * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}[unit]


def parse_wrk(path):
    r = {"file": os.path.basename(path)}
    text = open(path, errors="replace").read()
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    r["rps"] = float(m.group(1)) if m else None
    m = re.search(r"Transfer/sec:\s+([\d.]+)(B|KB|MB|GB|TB)", text)
    r["wrk_transfer_bytes_s"] = (
        float(m.group(1)) * {"B": 1, "KB": 2**10, "MB": 2**20, "GB": 2**30, "TB": 2**40}[m.group(2)]
        if m else None)
    m = re.search(r"(\d+) requests in ([\d.]+\w+),", text)
    r["requests"] = int(m.group(1)) if m else None
    m = re.search(r"^\s+Latency\s+(\S+)\s+(\S+)\s+(\S+)", text, re.M)
    r["lat_avg_ms"] = wrk_time_ms(m.group(1)) if m else None
    r["lat_max_ms"] = wrk_time_ms(m.group(3)) if m else None
    for pct, key in (("50", "p50_ms"), ("75", "p75_ms"), ("90", "p90_ms"), ("99", "p99_ms")):
        m = re.search(r"^\s+%s%%\s+(\S+)" % pct, text, re.M)
        r[key] = wrk_time_ms(m.group(1)) if m else None
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    r["socket_errors"] = (
        dict(zip(("connect", "read", "write", "timeout"), map(int, m.groups()))) if m else None
    )
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    r["non_2xx"] = int(m.group(1)) if m else 0
    if r["requests"] == 0:  # wrk prints 0.00us latencies when nothing completed: no latency
        for key in ("lat_avg_ms", "lat_max_ms", "p50_ms", "p75_ms", "p90_ms", "p99_ms"):
            r[key] = None
    parse_counters(text, r)
    if r["rps"] is None:
        r["raw_tail"] = text[-600:]
    return r


def parse_counters(text, r):
    """The "# ..." lines run.sh writes around a wrk or h2load run: load average, the server's
    CPU time and context switches, the client's CPU time (wrk), per-core busy shares. Uses
    r["requests"] for the per-request figures."""
    m = re.search(r"# loadavg-before: (\S+)", text)
    r["loadavg_before"] = float(m.group(1)) if m else None
    m = re.search(r"# loadavg-after: (\S+)", text)
    r["loadavg_after"] = float(m.group(1)) if m else None
    m = re.search(r"# server-counters: before (\d+) (\d+) after (\d+) (\d+) wall ([\d.]+) ([\d.]+) "
                  r"clk_tck (\d+)", text)
    if m:
        t0, c0, t1, c1 = (int(m.group(i)) for i in range(1, 5))
        wall = float(m.group(6)) - float(m.group(5))
        cpu_s = (t1 - t0) / int(m.group(7))
        r["server_cpu_s"] = cpu_s
        r["wall_s"] = wall
        r["server_cpu_util"] = cpu_s / wall if wall > 0 else None
        m2 = re.search(r"# client-times.*\n\S+ \S+\n(\d+)m([\d.]+)s (\d+)m([\d.]+)s", text)
        if m2:
            client_s = (int(m2.group(1)) * 60 + float(m2.group(2)) + int(m2.group(3)) * 60
                        + float(m2.group(4)))
            r["client_cpu_s"] = client_s
            r["client_cpu_util"] = client_s / wall if wall > 0 else None
        r["server_ctx_switches"] = c1 - c0
        if r.get("requests"):
            r["server_cpu_us_per_req"] = cpu_s * 1e6 / r["requests"]
            r["server_cs_per_req"] = (c1 - c0) / r["requests"]
    # Busy share of each pinned core (CPU 0: server, CPU 1: wrk) over the run, machine-wide:
    # includes other processes and the kernel's loopback TCP work (softirq) on that core.
    cores = {}
    for when in ("before", "after"):
        for m in re.finditer(r"^# core-stat-%s: (cpu\d+) ([\d ]+)$" % when, text, re.M):
            cores.setdefault(m.group(1), {})[when] = [int(x) for x in m.group(2).split()]
    for cpu, d in sorted(cores.items()):
        if "before" in d and "after" in d:
            delta = [a - b for a, b in zip(d["after"], d["before"])]
            total = sum(delta)
            idle = delta[3] + delta[4]
            r["%s_busy" % cpu] = (total - idle) / total if total > 0 else None
            r["%s_softirq" % cpu] = delta[6] / total if total > 0 else None


def parse_h2load(path):
    text = open(path, errors="replace").read()
    r = {}
    m = re.search(r"finished in ([\d.]+)s, ([\d.]+) req/s", text)
    r["rps"] = float(m.group(2)) if m else None
    m = re.search(
        r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
        r"(\d+) errored, (\d+) timeout",
        text,
    )
    if m:
        r.update(dict(zip(("total", "started", "done", "succeeded", "failed", "errored", "timeout"),
                          map(int, m.groups()))))
    m = re.search(r"status codes: (\d+) 2xx", text)
    r["status_2xx"] = int(m.group(1)) if m else None
    m = re.search(r"time for request:\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", text)
    if m:
        r["req_time_mean_ms"] = wrk_time_ms(m.group(3))
    if r["rps"] is None:
        r["raw_tail"] = text[-600:]
    return r


def parse_h2load_h2(path):
    """One h2load run of an HTTP/2 scenario (written by run.sh's run_h2load), with the checks
    that decide whether it counts: h2c, requests succeeded with 2xx, few failures."""
    text = open(path, errors="replace").read()
    r = parse_h2load(path)
    r.pop("raw_tail", None)
    r["file"] = os.path.basename(path)
    # "finished in 4.00s, 97132.67 req/s": req/s over the measured duration (after warm-up).
    m = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", text)
    r["rps"] = float(m.group(1)) if m else None
    m = re.search(r"^Application protocol: (\S+)", text, re.M)
    r["protocol"] = m.group(1) if m else None
    # h2load has no percentiles: min, max, mean and sd of "time for request" (request sent to
    # response complete), over every request of the measured duration.
    m = re.search(r"time for request:\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", text)
    for i, key in enumerate(("req_time_min_ms", "req_time_max_ms", "req_time_mean_ms", "req_time_sd_ms")):
        r[key] = wrk_time_ms(m.group(i + 1)) if m else None
    m = re.search(r"traffic: .*headers \(space savings ([\d.]+)%\)", text)
    r["hpack_space_savings_pct"] = float(m.group(1)) if m else None
    r["requests"] = r.get("done")
    parse_counters(text, r)
    # h2load's own CPU time (user + system, from the shell's `times`) over its whole run
    # (warm-up included) / that run's wall time: near 100 % the client is the limit.
    m = re.search(r"# h2load-times.*\n\S+ \S+\n(\d+)m([\d.]+)s (\d+)m([\d.]+)s", text)
    m2 = re.search(r"# h2load-wall: ([\d.]+) ([\d.]+)", text)
    if m and m2:
        client_s = int(m.group(1)) * 60 + float(m.group(2)) + int(m.group(3)) * 60 + float(m.group(4))
        wall = float(m2.group(2)) - float(m2.group(1))
        r["client_cpu_s"] = client_s
        r["client_cpu_util"] = client_s / wall if wall > 0 else None
    problems = []
    m = re.search(r"# h2load exit status (\d+)", text)
    if m:
        problems.append("h2load exit status %s%s" % (m.group(1), " (timeout)" if m.group(1) == "124" else ""))
    if r["protocol"] != "h2c":
        problems.append("h2load's application protocol was %s, not h2c" % (r["protocol"] or "missing"))
    total = r.get("total") or 0
    bad = sum(r.get(k) or 0 for k in ("failed", "errored", "timeout"))
    r["bad_requests"] = bad
    if not r.get("succeeded"):
        m = re.search(r"^requests: .*$", text, re.M)
        problems.append("no request succeeded (h2load: %s)" % (m.group(0) if m else "no result"))
    else:
        # Not "2xx == succeeded": h2load counts the status of a response whose headers came in
        # just before the end of the run even when its stream did not complete.
        m = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
        other = sum(int(x) for x in m.groups()[1:]) if m else None
        if not m or not int(m.group(1)):
            problems.append("no 2xx status (h2load: %s)" % (m.group(0) if m else "no status codes"))
        elif other:
            problems.append("%d answers were not 2xx (h2load: %s)" % (other, m.group(0)))
        if bad > H2_MAX_BAD_SHARE * total:
            problems.append("%d of %d requests failed, errored or timed out" % (bad, total))
    if "# server no longer running" in text:
        problems.append("the server was no longer running after the run")
    r["ok"] = not problems
    r["problem"] = "; ".join(problems) or None
    if not r["ok"]:
        r["raw_tail"] = text[-800:]
    return r


def parse_nghttp_settings(path):
    """The server's first SETTINGS frame from `nghttp -nv` output: {"SETTINGS_...": value}."""
    text = open(path, errors="replace").read()
    m = re.search(r"recv SETTINGS frame <[^>]*flags=0x00[^>]*>\n\s+\(niv=\d+\)\n((?:\s+\[SETTINGS_\w+\(0x[0-9a-f]+\):\d+\]\n?)*)", text)
    if not m:
        return None
    return {k: int(v) for k, v in re.findall(r"\[(SETTINGS_\w+)\(0x[0-9a-f]+\):(\d+)\]", m.group(1))}


def h2_summary(reps):
    """Summary of one server's repetitions of an HTTP/2 scenario. Figures are over the
    repetitions that count (ok) only; status: ok (all), partial (some), failed (none)."""
    good = [r for r in reps if r.get("ok")]
    reasons = []
    for r in reps:
        if not r.get("ok") and r.get("problem") and r["problem"] not in reasons:
            reasons.append(r["problem"])
    return {
        "status": "ok" if reps and len(good) == len(reps) else ("partial" if good else "failed"),
        "reason": "; ".join(reasons) or (None if reps else "not run"),
        "ok_reps": len(good),
        "reps": reps,
        "rps": spread([r["rps"] for r in good]),
        "req_time_mean_ms": spread([r.get("req_time_mean_ms") for r in good]),
        "req_time_sd_ms": spread([r.get("req_time_sd_ms") for r in good]),
        "req_time_max_ms": spread([r.get("req_time_max_ms") for r in good]),
        "cpu_util": spread([r.get("server_cpu_util") for r in good]),
        "cpu_us_per_req": spread([r.get("server_cpu_us_per_req") for r in good]),
        "cs_per_req": spread([r.get("server_cs_per_req") for r in good]),
        "cpu0_busy": spread([r.get("cpu0_busy") for r in good]),
        "cpu1_busy": spread([r.get("cpu1_busy") for r in good]),
        "client_cpu_util": spread([r.get("client_cpu_util") for r in good]),
        "errors": sum(r.get("bad_requests") or 0 for r in good),
    }


def spread(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


def crate_versions(lock_path):
    out = {}
    if not os.path.exists(lock_path):
        return out
    if tomllib:
        data = tomllib.load(open(lock_path, "rb"))
        for pkg in data.get("package", []):
            if pkg["name"] in PEER_CRATES:
                out[pkg["name"]] = pkg["version"]
    else:
        for name, ver in re.findall(r'name = "([^"]+)"\nversion = "([^"]+)"', open(lock_path).read()):
            if name in PEER_CRATES:
                out[name] = ver
    return out


def scenario_summary(reps):
    return {
        "reps": reps,
        "rps": spread([r["rps"] for r in reps]),
        "p50_ms": spread([r["p50_ms"] for r in reps]),
        "p99_ms": spread([r["p99_ms"] for r in reps]),
        "cpu_util": spread([r.get("server_cpu_util") for r in reps]),
        "cpu_us_per_req": spread([r.get("server_cpu_us_per_req") for r in reps]),
        "cs_per_req": spread([r.get("server_cs_per_req") for r in reps]),
        "cpu0_busy": spread([r.get("cpu0_busy") for r in reps]),
        "cpu1_busy": spread([r.get("cpu1_busy") for r in reps]),
        "client_cpu_util": spread([r.get("client_cpu_util") for r in reps]),
        "errors": sum(
            (sum(r["socket_errors"].values()) if r["socket_errors"] else 0) + r["non_2xx"]
            for r in reps
        ),
    }


def wrk_reps(d, name, n):
    """parse_wrk of d/wrk-NAME-REP.txt for REP = 1..n, those that exist."""
    out = []
    for rep in range(1, n + 1):
        p = os.path.join(d, "wrk-%s-%d.txt" % (name, rep))
        if os.path.exists(p):
            r = parse_wrk(p)
            r["rep"] = rep
            out.append(r)
    return out


def parse_s_client(path):
    """`openssl s_client -brief` output: the negotiated protocol, cipher suite, key exchange."""
    text = open(path, errors="replace").read()
    out = {}
    for key, label in (("protocol", "Protocol version"), ("cipher", "Ciphersuite"),
                       ("key_exchange", "Server Temp Key"), ("signature", "Signature type")):
        m = re.search(r"^%s: (.+)$" % label, text, re.M)
        out[key] = m.group(1).strip() if m else None
    return out


def collect_https(d, hm, n):
    """One server's HTTPS phase: every scenario's repetitions, the failed repetitions, what was
    negotiated and what the server does about resumption (tls_probe.py)."""
    h = {"scenarios": {}, "failed": []}
    for rep in range(1, n + 1):
        f = os.path.join(d, "https-%d.failed" % rep)
        if os.path.exists(f):
            h["failed"].append({"rep": rep, "reason": open(f).read().strip() or "failed"})
    for sc in hm["scenarios"]:
        h["scenarios"][sc["name"]] = scenario_summary(wrk_reps(d, sc["name"], n))
    f = os.path.join(d, "https-s_client.txt")
    h["negotiated"] = parse_s_client(f) if os.path.exists(f) else None
    f = os.path.join(d, "https-resumption.json")
    try:
        h["resumption"] = json.load(open(f))
    except Exception:  # noqa: BLE001 - missing or broken: reported as unknown
        h["resumption"] = None
    after = []
    for rep in range(1, n + 1):
        p = os.path.join(d, "rss-after-https-%d.txt" % rep)
        if os.path.exists(p):
            kb, thr = open(p).read().split()
            after.append({"rss_kb": int(kb), "threads": int(thr)})
    h["after_load"] = after
    h["status"] = ("failed" if not any(v["reps"] for v in h["scenarios"].values())
                   else "partial" if h["failed"] else "ok")
    return h


def collect_slowhead(d, n):
    """One server's slowhead phase: per repetition the holder's report and the four wrk runs
    (keep-alive 16 and Connection: close 16, without and with the holders), and the ratios."""
    reps = []
    for rep in range(1, n + 1):
        f = os.path.join(d, "slowhead-%d.json" % rep)
        if not os.path.exists(f):
            continue
        r = json.load(open(f))
        r["rep"] = rep
        for kind in ("base", "held"):
            for sc in ("ka16", "close16"):
                p = os.path.join(d, "wrk-slowhead_%s_%s-%d.txt" % (kind, sc, rep))
                r["%s_%s" % (kind, sc)] = parse_wrk(p) if os.path.exists(p) else None
        for sc in ("ka16", "close16"):
            b, h = r.get("base_" + sc), r.get("held_" + sc)
            r["ratio_" + sc] = ratio(h and h.get("rps"), b and b.get("rps"))
        reps.append(r)
    out = {"reps": reps}
    for kind in ("base", "held"):
        for sc in ("ka16", "close16"):
            k = "%s_%s" % (kind, sc)
            out[k] = scenario_summary([r[k] for r in reps if r.get(k)])
    for sc in ("ka16", "close16"):
        out["ratio_" + sc] = spread([r.get("ratio_" + sc) for r in reps])
    return out


def collect_cores(d, cs, n):
    out = {}
    for c in cs["run"]:
        e = {"scenarios": {}}
        for sc in cs["scenarios"]:
            e["scenarios"][sc["name"]] = scenario_summary(wrk_reps(d, "cores%d-%s" % (c, sc["name"]), n))
        pt = []
        for rep in range(1, n + 1):
            p = os.path.join(d, "cores%d-procs-threads-%d.txt" % (c, rep))
            if os.path.exists(p):
                procs, thr = open(p).read().split()
                pt.append({"processes": int(procs), "threads": int(thr)})
        e["processes_threads"] = pt
        out[str(c)] = e
    return out


def parse_strace_c(path):
    """`strace -c` summary: {"calls": total, "errors": total, "rows": [{name, calls, errors,
    seconds}]} (rows by calls, most first), or {"error": ...}."""
    if not os.path.exists(path):
        return {"error": "no strace output"}
    rows = []
    for line in open(path, errors="replace"):
        t = line.split()
        # "% time seconds usecs/call calls [errors] syscall"; skip the head, rules and total.
        if len(t) not in (5, 6) or t[-1] == "total" or line.startswith(("%", "------")):
            continue
        try:
            float(t[0])
            rows.append({"name": t[-1], "calls": int(t[3]), "errors": int(t[4]) if len(t) == 6 else 0,
                         "seconds": float(t[1])})
        except ValueError:
            continue
    if not rows:
        return {"error": "no system calls in strace's summary"}
    rows.sort(key=lambda r: -r["calls"])
    return {"calls": sum(r["calls"] for r in rows), "errors": sum(r["errors"] for r in rows), "rows": rows}


def collect_syscalls(d, n):
    """One server's syscalls phase: per repetition CPU time per request without a tracer and
    system calls per request under strace -c."""
    reps = []
    for rep in range(1, n + 1):
        pc = os.path.join(d, "wrk-sys_cpu_ka16-%d.txt" % rep)
        ps = os.path.join(d, "wrk-sys_strace_ka16-%d.txt" % rep)
        if not os.path.exists(pc):
            continue
        cpu = parse_wrk(pc)
        st = parse_wrk(ps) if os.path.exists(ps) else {}
        sc = parse_strace_c(os.path.join(d, "strace-%d.txt" % rep))
        err = os.path.join(d, "strace-%d.err" % rep)
        r = {"rep": rep, "rps": cpu.get("rps"), "requests": cpu.get("requests"),
             "cpu_us_per_req": cpu.get("server_cpu_us_per_req"),
             "cpu_util": cpu.get("server_cpu_util"), "cs_per_req": cpu.get("server_cs_per_req"),
             "strace_requests": st.get("requests"), "strace_rps": st.get("rps"),
             "syscalls": sc.get("calls"), "syscall_errors": sc.get("errors"),
             "strace_error": sc.get("error")}
        if sc.get("error") and os.path.exists(err):
            r["strace_stderr"] = open(err, errors="replace").read()[-400:]
        if sc.get("calls") and st.get("requests"):
            r["syscalls_per_req"] = sc["calls"] / st["requests"]
            r["top"] = [{"name": x["name"], "calls": x["calls"], "errors": x["errors"],
                         "per_req": x["calls"] / st["requests"]} for x in sc["rows"][:12]]
        reps.append(r)
    out = {"reps": reps,
           "cpu_us_per_req": spread([r.get("cpu_us_per_req") for r in reps]),
           "rps": spread([r.get("rps") for r in reps]),
           "cs_per_req": spread([r.get("cs_per_req") for r in reps]),
           "syscalls_per_req": spread([r.get("syscalls_per_req") for r in reps]),
           "strace_rps": spread([r.get("strace_rps") for r in reps])}
    # Top system calls: the median over repetitions of each call's count per request.
    names, errs = {}, {}
    for r in reps:
        for x in r.get("top") or []:
            names.setdefault(x["name"], []).append(x["per_req"])
            errs.setdefault(x["name"], []).append(x["errors"] / r["strace_requests"])
    good = sum(1 for r in reps if r.get("top"))

    def med0(v):  # a call missing from a repetition's top 12 counts as 0 there
        return statistics.median(v + [0.0] * (good - len(v)))
    out["top"] = sorted(({"name": k, "per_req": med0(v), "errors_per_req": med0(errs[k])}
                         for k, v in names.items()), key=lambda x: -x["per_req"])[:8]
    return out


def collect(scratch, lock_path):
    meta = json.load(open(os.path.join(scratch, "meta.json")))
    meta["crates"] = crate_versions(lock_path)
    end = os.path.join(scratch, "loadavg-end.txt")
    meta["loadavg_end"] = open(end).read().strip() if os.path.exists(end) else None
    res = {"meta": meta, "servers": {}}
    for s in meta["servers"]:
        d = os.path.join(scratch, s)
        sr = {"scenarios": {}}
        resp = os.path.join(d, "response.txt")
        if os.path.exists(resp):
            head = open(resp).read().split("\n\n")[0]
            sr["response_head"] = head
        idle = os.path.join(d, "idle.json")
        if os.path.exists(idle):
            sr["idle"] = json.load(open(idle))
        for sc in meta["scenarios"]:
            name = sc["name"]
            reps = []
            for rep in range(1, meta["reps"] + 1):
                p = os.path.join(d, "wrk-%s-%d.txt" % (name, rep))
                if os.path.exists(p):
                    reps.append(parse_wrk(p))
            sr["scenarios"][name] = scenario_summary(reps)
        st = meta.get("static")
        if st and s in st["servers"]:
            reps = []
            for rep in range(1, meta["reps"] + 1):
                p = os.path.join(d, "wrk-%s-%d.txt" % (st["name"], rep))
                if os.path.exists(p):
                    reps.append(parse_wrk(p))
            sst = scenario_summary(reps)
            check = os.path.join(d, "static-check.txt")
            if os.path.exists(check):
                sst["check"] = open(check).read().strip()
            head = os.path.join(d, "static-response.txt")
            if os.path.exists(head):
                sst["response_head"] = open(head).read().replace("\r", "").strip()
            after = []
            for rep in range(1, meta["reps"] + 1):
                p = os.path.join(d, "rss-after-static-%d.txt" % rep)
                if os.path.exists(p):
                    kb, thr = open(p).read().split()
                    after.append({"rss_kb": int(kb), "threads": int(thr)})
            sst["after_load"] = after
            sr["static"] = sst
        ss = meta.get("static_small")
        if ss and s in ss["servers"]:
            sst = scenario_summary(wrk_reps(d, ss["name"], meta["reps"]))
            for key, fname in (("check", "static-small-check.txt"), ("response_head", "static-small-response.txt")):
                f = os.path.join(d, fname)
                if os.path.exists(f):
                    sst[key] = open(f).read().replace("\r", "").strip()
            sr["static_small"] = sst
        idle_runs = {}
        for c in meta.get("idle_counts") or []:
            f = os.path.join(d, "idle-%d.json" % c)
            if os.path.exists(f):
                idle_runs[str(c)] = json.load(open(f))
        if idle_runs:
            sr["idle_runs"] = idle_runs
        hm = meta.get("https")
        if hm and s in hm["servers"]:
            sr["https"] = collect_https(d, hm, meta["reps"])
        sh = meta.get("slowhead")
        if sh and s in sh["servers"]:
            sr["slowhead"] = collect_slowhead(d, meta["reps"])
        cs = meta.get("core_sweep")
        if cs and s in cs["servers"] and cs.get("run"):
            sr["cores"] = collect_cores(d, cs, meta["reps"])
        sy = meta.get("syscalls")
        if sy and s in sy["servers"]:
            sr["syscalls"] = collect_syscalls(d, meta["reps"])
        h2 = os.path.join(d, "h2load-h1-ka16.txt")
        if os.path.exists(h2):
            sr["h2load_h1_ka16"] = parse_h2load(h2)
        for h2sc in meta.get("h2_scenarios") or []:
            if s not in h2sc["servers"]:
                continue
            reps = []
            for rep in range(1, meta["reps"] + 1):
                p = os.path.join(d, "h2load-%s-%d.txt" % (h2sc["name"], rep))
                f = os.path.join(d, "h2-%s-%d.failed" % (h2sc["name"], rep))
                if os.path.exists(f):
                    reps.append({"rep": rep, "ok": False, "rps": None,
                                 "problem": open(f).read().strip() or "failed before the run"})
                elif os.path.exists(p):
                    r = parse_h2load_h2(p)
                    r["rep"] = rep
                    reps.append(r)
            summ = h2_summary(reps)
            ng = os.path.join(d, "h2-nghttp.txt")
            summ["server_settings"] = parse_nghttp_settings(ng) if os.path.exists(ng) else None
            after = []
            for rep in range(1, meta["reps"] + 1):
                p = os.path.join(d, "rss-after-h2-%d.txt" % rep)
                if os.path.exists(p):
                    kb, thr = open(p).read().split()
                    after.append({"rss_kb": int(kb), "threads": int(thr)})
            summ["after_load"] = after
            sr.setdefault("h2_scenarios", {})[h2sc["name"]] = summ
        after = []
        for rep in range(1, meta["reps"] + 1):
            p = os.path.join(d, "rss-after-load-%d.txt" % rep)
            if os.path.exists(p):
                kb, thr = open(p).read().split()
                after.append({"rss_kb": int(kb), "threads": int(thr)})
        sr["after_load"] = after
        res["servers"][s] = sr
    return res


# ------------------------------------------------------------------------------ render


def fmt_rps(x):
    return "–" if x is None else "{:,.0f}".format(x)


def fmt_ms(x):
    if x is None:
        return "–"
    if x < 1:
        return "%.0f µs" % (x * 1000)
    if x < 10:
        return "%.2f ms" % x
    if x < 1000:
        return "%.1f ms" % x
    return "%.2f s" % (x / 1000)


def fmt_us(x):
    return "–" if x is None else "%.1f µs" % x


def fmt_f2(x):
    return "–" if x is None else "%.2f" % x


def fmt_mb(kb):
    return "–" if kb is None else "%.1f MB" % (kb / 1024)


def cell(sp, fmt, reps):
    if sp is None:
        return "–"
    if reps <= 1 or sp["n"] <= 1:
        return fmt(sp["median"])
    return "%s <sub>(%s–%s)</sub>" % (fmt(sp["median"]), fmt(sp["min"]), fmt(sp["max"]))


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(r):
    return "–" if r is None else "%.2f×" % r


def fmt_pct(x):
    return "–" if x is None else "%.0f %%" % (x * 100)


NA = "n/a"


def static_of(servers, s):
    """The static-file scenario's summary for server s, or None (not run / no file server)."""
    return servers.get(s, {}).get("static")


def static_med(servers, s, key):
    st = static_of(servers, s)
    sp = st.get(key) if st else None
    return sp["median"] if sp else None


def h2_of(servers, s, name):
    """The summary of HTTP/2 scenario `name` for server s, or None (not run / no HTTP/2)."""
    return (servers.get(s, {}).get("h2_scenarios") or {}).get(name)


def h2_med(servers, s, name, key):
    h = h2_of(servers, s, name)
    sp = h.get(key) if h else None
    return sp["median"] if sp else None


def h2_label(s):
    return H2_SERVER_LABELS.get(s, SERVER_LABELS.get(s, s))


def h2_missing(s):
    """Why server s has no row in an HTTP/2 scenario."""
    return "no HTTP/2" if s == "tiny_http" else "not run"


def render(results_path, out_dir):
    res = json.load(open(results_path))
    meta, servers = res["meta"], res["servers"]
    names = [s for s in meta["servers"] if s in servers]
    scen = [sc["name"] for sc in meta["scenarios"]]
    reps = meta["reps"]
    peers = [s for s in names if s != "falconet"]
    fal = servers.get("falconet")

    def med(s, sc, key):
        sp = servers[s]["scenarios"].get(sc, {}).get(key)
        return sp["median"] if sp else None

    L = []
    w = L.append
    w("# falconet benchmark results")
    w("")
    w("Generated by `bench/run.sh` (→ `bench/results.json` → `bench/report.py`). "
      "Overwritten on every run; do not edit by hand.")
    w("")
    w("Run: **%s**, %s, %d s per wrk run, %d repetition%s (median shown, min–max of the "
      "repetitions in small print)." % (
          meta["date_utc"], "QUICK smoke mode" if meta.get("quick") else "full mode",
          meta["duration_s"], reps, "" if reps == 1 else "s"))
    w("")
    w("![requests/s per scenario and memory per server](chart.svg)")
    w("")

    # Headline
    if fal and "ka16" in scen:
        w("## Headline: 16 keep-alive connections")
        w("")
        w("| | falconet | " + " | ".join(SERVER_LABELS.get(p, p) for p in peers) + " |")
        w("|---|---:|" + "---:|" * len(peers))
        w("| requests/s | %s | %s |" % (fmt_rps(med("falconet", "ka16", "rps")), " | ".join(
            fmt_rps(med(p, "ka16", "rps")) for p in peers)))
        w("| falconet / peer (requests/s) | 1.00× | %s |" % " | ".join(
            fmt_ratio(ratio(med("falconet", "ka16", "rps"), med(p, "ka16", "rps"))) for p in peers))
        w("| p99 latency | %s | %s |" % (fmt_ms(med("falconet", "ka16", "p99_ms")), " | ".join(
            fmt_ms(med(p, "ka16", "p99_ms")) for p in peers)))

        w("| server CPU per request | %s | %s |" % (
            fmt_us(med("falconet", "ka16", "cpu_us_per_req")),
            " | ".join(fmt_us(med(p, "ka16", "cpu_us_per_req")) for p in peers)))
        w("| context switches per request | %s | %s |" % (
            fmt_f2(med("falconet", "ka16", "cs_per_req")),
            " | ".join(fmt_f2(med(p, "ka16", "cs_per_req")) for p in peers)))

        def idle_row(label, f):
            w("| %s | %s | %s |" % (label, f("falconet"), " | ".join(f(p) for p in peers)))

        idle_row("RSS with %d idle keep-alive conns" % meta["idle_count"],
                 lambda s: fmt_mb(servers[s].get("idle", {}).get("rss_held_kb")))
        idle_row("fresh request while they are held", lambda s: fresh_cell(servers[s]))
        st_meta = meta.get("static")
        if st_meta and static_of(servers, "falconet"):
            mib = st_meta["file_bytes"] / 2**20

            def st_cell(s, f):
                return f(s) if static_of(servers, s) else NA

            idle_row("**%g MiB static file**: requests/s" % mib,
                     lambda s: st_cell(s, lambda s: fmt_rps(static_med(servers, s, "rps"))))
            idle_row("%g MiB static file: falconet / peer" % mib, lambda s: st_cell(
                s, lambda s: fmt_ratio(ratio(static_med(servers, "falconet", "rps"),
                                             static_med(servers, s, "rps")))))
            idle_row("%g MiB static file: p99 latency" % mib,
                     lambda s: st_cell(s, lambda s: fmt_ms(static_med(servers, s, "p99_ms"))))
        for h2sc in meta.get("h2_scenarios") or []:
            if "falconet" not in h2sc["servers"]:
                continue
            nm = h2sc["name"]

            def h2_cell(s, f):
                h = h2_of(servers, s, nm)
                if h is None:
                    return NA
                return f(s) if h.get("rps") else "**failed**"

            idle_row("**HTTP/2 h2c, %d conns × %d streams**: requests/s" % (
                h2sc["connections"], h2sc["streams"]),
                lambda s: h2_cell(s, lambda s: fmt_rps(h2_med(servers, s, nm, "rps"))))
            idle_row("HTTP/2: falconet / peer (requests/s)", lambda s: h2_cell(
                s, lambda s: fmt_ratio(ratio(h2_med(servers, "falconet", nm, "rps"),
                                             h2_med(servers, s, nm, "rps")))))
        headline_extra(idle_row, meta, servers)
        w("")

    w("## Machine and versions")
    w("")
    w("| | |")
    w("|---|---|")
    w("| CPU | %s, %d cores |" % (meta["cpu_model"], meta["cores"]))
    w("| memory | %s |" % meta.get("mem_total", "?"))
    w("| kernel | %s |" % meta["kernel"])
    w("| date (UTC) | %s |" % meta["date_utc"])
    w("| pinning | %s |" % meta["pinning"])
    w("| RLIMIT_NOFILE | %s%s |" % (meta["nofile"], " (hard limit %s)" % meta["nofile_hard"]
                                     if meta.get("nofile_hard") else ""))
    w("| load average at start / end | %s / %s |" % (meta.get("loadavg_start"), meta.get("loadavg_end")))
    w("| falconet | commit `%s`%s, `hello` example%s, release profile (opt-level s, LTO), "
      "`Falconet:Workers` = %d |" % (
          meta["falconet_commit"][:12],
          " (+%d modified tracked files outside bench/)" % meta["falconet_dirty_files"]
          if meta.get("falconet_dirty_files") else "",
          " (static file: the `falconet` binary with `--root`)" if meta.get("static") else "",
          meta["falconet_workers"]))
    w("| rustc | %s |" % meta["rustc"])
    cr = meta.get("crates", {})
    w("| peer crates (bench/peers/Cargo.lock) | %s |" % ", ".join(
        "%s %s" % (k, cr[k]) for k in PEER_CRATES if k in cr))
    w("| nginx | %s |" % meta["nginx"])
    w("| lighttpd | %s |" % meta["lighttpd"])
    w("| wrk | %s |" % meta["wrk"])
    w("| h2load | %s |" % meta.get("h2load", ""))
    if meta.get("https"):
        w("| openssl (certificate, s_client; wrk's TLS) | %s |" % meta.get("openssl", ""))
    if meta.get("syscalls"):
        w("| strace | %s |" % meta.get("strace", ""))
    w("| report | %s, matplotlib %s |" % (meta["python"], meta["matplotlib"]))
    w("")

    w("## Setup")
    w("")
    w("Every server answers `GET /` with `200`, `Content-Type: text/plain`, body `Hello, World!` "
      "(13 bytes), on 127.0.0.1 only. run.sh checks this answer before measuring.")
    w("")
    w("- **falconet**: `examples/hello.rs`, `--urls http://127.0.0.1:PORT --config appsettings.json` "
      "with `{\"Falconet\": {\"Workers\": %d}}`, `RUST_LOG=warn`. %d is also falconet's default on this "
      "machine (twice the cores, at least 4; pinned to one core it would still be 4). All other "
      "options are Kestrel's defaults (KeepAliveTimeout 130 s, no connection cap)." % (
          meta["falconet_workers"], meta["falconet_workers"]))
    w("- **tiny_http** %s: `bench/peers/src/bin/tiny_http_hello.rs`, %d threads each calling "
      "`server.recv()` in a loop (tiny_http itself also runs one thread per open connection)." % (
          cr.get("tiny_http", ""), meta["peer_threads"]))
    w("- **hyper** %s on tokio %s: `bench/peers/src/bin/hyper_hello.rs`, multi-thread runtime with "
      "`worker_threads(%d)`, hyper-util `TokioIo`, `http1::Builder` with keep-alive, TCP_NODELAY." % (
          cr.get("hyper", ""), cr.get("tokio", ""), meta["peer_threads"]))
    w("- **nginx**: `worker_processes %d; access_log off; keepalive_requests 1000000; "
      "worker_connections 4096;` and `location / { default_type text/plain; return 200 'Hello, World!'; }`, "
      "foreground (`-g 'daemon off;'`)." % meta["peer_threads"])
    w("- **lighttpd**: a 13-byte static `index.txt` (mimetype text/plain), one process, "
      "`server.max-keep-alive-requests = 1000000`, `server.max-keep-alive-idle = 130` (default 5 s "
      "would close the idle connections mid-test), foreground (`-D`).")
    w("- Peers are built with `opt-level = 3`, LTO, one codegen unit; falconet with its own release "
      "profile (`opt-level = \"s\"`, LTO).")
    w("- Load: `wrk -t1 -cN -d%ds --timeout 5s --latency` (one wrk thread: the client has one core "
      "of its own). Each server is started fresh for every repetition and warmed up with %d s of "
      "16 connections; repetitions are interleaved across servers (rep 1 of every server, then "
      "rep 2, ...) so slow changes in background load are shared." % (meta["duration_s"], meta["warmup_s"]))
    w("- Memory: VmRSS from /proc (nginx: master + workers), read after start (idle) and while "
      "`idle-probe` (bench/peers) holds %d keep-alive connections, each idle after one completed "
      "request, on a server started fresh for that phase." % meta["idle_count"])
    st_meta = meta.get("static")
    if st_meta:
        w("- **Static file** (`%s`, %s bytes of seeded pseudo-random data, sha256 `%s…`, generated "
          "once into `bench/scratch/static/`): the `falconet` binary with `--root` (same "
          "appsettings.json, `RUST_LOG=warn`), nginx with `location / { root DIR; }` plus "
          "`sendfile on; tcp_nopush on;` as in Debian's `/etc/nginx/nginx.conf` (nginx's compiled-in "
          "default is `sendfile off`; no gzip, no `open_file_cache`), lighttpd with the directory as "
          "`server.document-root` (its defaults otherwise). run.sh checks that each returns 200, "
          "`Content-Length: %d` and the file's bytes (curl, then `cmp`) before measuring; each is "
          "started fresh per repetition, warmed up for %d s on the file, then `wrk -t1 -c%d` on it. "
          "tiny_http and hyper have no file server: n/a." % (
              st_meta["path"], "{:,}".format(st_meta["file_bytes"]), st_meta["sha256"][:16],
              st_meta["file_bytes"], meta["warmup_s"], st_meta["connections"]))
    for h2sc in meta.get("h2_scenarios") or []:
        parts = []
        for s in h2sc["servers"]:
            if s == "falconet":
                parts.append("falconet: `examples/hello.rs` built with %s, started as above" % (
                    "`%s`" % h2sc["falconet_build"] if (h2sc.get("falconet_build") or "").startswith("--")
                    else h2sc.get("falconet_build") or "its default features"))
            elif s == "hyper":
                parts.append("hyper %s: `bench/peers/src/bin/hyper_h2_hello.rs`, "
                             "`server::conn::http2::Builder` with hyper-util's `TokioExecutor` on "
                             "the same runtime as above (`worker_threads(%d)`), h2 %s, its defaults "
                             "(max concurrent streams 200), TCP_NODELAY" % (
                                 cr.get("hyper", ""), meta["peer_threads"], cr.get("h2", "")))
            elif s == "nginx":
                parts.append("nginx: as above with `%s` on the cleartext listener (HTTP/2 "
                             "defaults: `http2_max_concurrent_streams 128`)" % (
                                 "http2 on;" if h2sc.get("nginx_h2", "").startswith("http2 on")
                                 else "listen 127.0.0.1:PORT http2;"))
            elif s == "lighttpd":
                parts.append("lighttpd: as above plus `server.feature-flags = ( \"server.h2proto\" "
                             "=> \"enable\", \"server.h2c\" => \"enable\" )`")
            else:
                parts.append(s)
        w("- **HTTP/2** (`%s`: h2c with prior knowledge, no Upgrade, no TLS): %s." % (
            h2sc["name"], "; ".join(parts)))
    w("")

    if scen:
        # Throughput
        w("## Throughput (requests/s, higher is better)")
        w("")
        w("| server | " + " | ".join(SCENARIO_LABELS.get(s, s) for s in scen) + " |")
        w("|---|" + "---:|" * len(scen))
        for s in names:
            w("| %s | %s |" % (SERVER_LABELS.get(s, s), " | ".join(
                cell(servers[s]["scenarios"].get(sc, {}).get("rps"), fmt_rps, reps) for sc in scen)))
        w("")
        w("## Latency p50 / p99 (wrk --latency, lower is better)")
        w("")
        w("| server | " + " | ".join(SCENARIO_LABELS.get(s, s) for s in scen) + " |")
        w("|---|" + "---:|" * len(scen))
        for s in names:
            cells = []
            for sc in scen:
                d = servers[s]["scenarios"].get(sc, {})
                cells.append("%s / %s" % (cell(d.get("p50_ms"), fmt_ms, reps), cell(d.get("p99_ms"), fmt_ms, reps)))
            w("| %s | %s |" % (SERVER_LABELS.get(s, s), " | ".join(cells)))
        w("")
        if fal and peers:
            w("## falconet / peer")
            w("")
            w("Requests/s ratio (above 1.00× means falconet served more), and in brackets the p99 "
              "ratio (below 1.00× means falconet's p99 was lower).")
            w("")
            w("| peer | " + " | ".join(SCENARIO_LABELS.get(s, s) for s in scen) + " |")
            w("|---|" + "---:|" * len(scen))
            for p in peers:
                cells = []
                for sc in scen:
                    cells.append("%s (p99 %s)" % (
                        fmt_ratio(ratio(med("falconet", sc, "rps"), med(p, sc, "rps"))),
                        fmt_ratio(ratio(med("falconet", sc, "p99_ms"), med(p, sc, "p99_ms")))))
                w("| %s | %s |" % (SERVER_LABELS.get(p, p), " | ".join(cells)))
            w("")

    st_meta = meta.get("static")
    if st_meta and any(static_of(servers, s) for s in names):
        render_static(w, meta, servers, names, reps)

    ss = meta.get("static_small")
    if ss and any(servers[s].get("static_small") for s in names):
        render_static_small(w, meta, servers, names, reps)

    for h2sc in meta.get("h2_scenarios") or []:
        render_h2(w, meta, h2sc, servers, names, reps)

    if meta.get("https") and any(servers[s].get("https") for s in names):
        render_https(w, meta, servers, names, reps)

    if any(servers[s]["scenarios"].get(sc, {}).get("cpu_util") for s in names for sc in scen):
        w("## Server CPU during the wrk runs")
        w("")
        w("Core utilization of the server (CPU time / wall time; it has one core, so 100 % is "
          "saturated) / server CPU time per request / context switches per request (summed over "
          "the server's live threads; threads that exited during the run are not counted). "
          "Medians over repetitions. A server that is below 100 % while wrk waits on it is "
          "limited by latency (hand-offs, waits), not by CPU.")
        w("")
        w("| server | " + " | ".join(SCENARIO_LABELS.get(s, s) for s in scen) + " |")
        w("|---|" + "---:|" * len(scen))
        for s in names:
            cells = []
            for sc in scen:
                d = servers[s]["scenarios"].get(sc, {})
                u, c, x = d.get("cpu_util"), d.get("cpu_us_per_req"), d.get("cs_per_req")
                cells.append("%s / %s / %s" % (
                    "–" if not u else "%.0f %%" % (u["median"] * 100),
                    "–" if not c else "%.1f µs" % c["median"],
                    "–" if not x else "%.2f" % x["median"]))
            w("| %s | %s |" % (SERVER_LABELS.get(s, s), " | ".join(cells)))
        w("")

    errs = [(s, sc, servers[s]["scenarios"][sc]["errors"]) for s in names for sc in scen
            if servers[s]["scenarios"].get(sc, {}).get("errors")]
    errs += [(s, "static", static_of(servers, s)["errors"]) for s in names
             if static_of(servers, s) and static_of(servers, s).get("errors")]
    errs += [(s, "static_small", servers[s]["static_small"]["errors"]) for s in names
             if (servers[s].get("static_small") or {}).get("errors")]
    if errs:
        w("wrk reported socket errors or non-2xx answers (summed over repetitions): " + "; ".join(
            "%s %s: %d" % (s, sc, n) for s, sc, n in errs) + ". With `Connection: close` wrk "
            "counts a server-side close as a read error on some servers; see the raw output in "
            "bench/scratch/.")
        w("")

    if any(servers[s].get("idle") for s in names):
        # Memory and idle
        w("## Memory and %d idle keep-alive connections" % meta["idle_count"])
        w("")
        w("| server | RSS idle | threads idle | RSS with %d idle conns | threads | answered | burst "
          "(connect + 1 request each) | listen overflows | fresh request while held | 2nd request on "
          "%s idle conns | RSS after load |" % (meta["idle_count"], "sampled"))
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for s in names:
            i = servers[s].get("idle", {})
            p = i.get("probe", {})
            after = servers[s].get("after_load") or []
            after_kb = statistics.median([a["rss_kb"] for a in after]) if after else None
            answered = "–"
            if "answered" in p:
                answered = "%d / %d%s" % (p["answered"], p["count"], " ✓" if p.get("all_answered") else "")
            sample = "–"
            if "sample" in p:
                sample = "%d / %d" % (p["sample_answered"], p["sample"])
                if p.get("sample_max_ms") is not None:
                    sample += " (max %s)" % fmt_ms(p["sample_max_ms"])
            burst = fmt_ms(p.get("burst_ms"))
            if p.get("connect_ms") is not None:
                burst += " <sub>(connects %s)</sub>" % fmt_ms(p["connect_ms"])
            w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                SERVER_LABELS.get(s, s), fmt_mb(i.get("rss_idle_kb")), i.get("threads_idle", "–"),
                fmt_mb(i.get("rss_held_kb")), i.get("threads_held", "–"), answered,
                burst, i.get("listen_overflows", "–"), fresh_cell(servers[s]), sample, fmt_mb(after_kb)))
        w("")
        w("`answered`: connections that got a complete 200 to their one request within 10 s of the "
          "burst. `fresh request`: connect + `GET /` on a new connection while all of them are held "
          "(timeout %d s). `listen overflows`: the kernel's TcpExt ListenOverflows counter during the probe "
          "(accept queue full, SYN dropped and retried after 1 s; machine-wide, so other programs' "
          "overflows would show too). `RSS after load`: median over repetitions, read after the wrk runs (256 "
          "connections had been open)." % (
              next((servers[s]["idle"]["probe"].get("fresh_timeout_ms", 5000) for s in names
                    if "probe" in servers[s].get("idle", {})), 5000) // 1000))
        w("")

    if any(servers[s].get("idle_runs") for s in names):
        render_idle_counts(w, meta, servers, names)
    if meta.get("slowhead") and any(servers[s].get("slowhead") for s in names):
        render_slowhead(w, meta, servers, names, reps)
    if meta.get("core_sweep"):
        render_cores(w, meta, servers, names, reps)
    if meta.get("syscalls") and any(servers[s].get("syscalls") for s in names):
        render_syscalls(w, meta, servers, names, reps)

    h2 = [(s, servers[s].get("h2load_h1_ka16")) for s in names if servers[s].get("h2load_h1_ka16")]
    if h2:
        w("## Cross-check: h2load --h1, 16 keep-alive connections, one run")
        w("")
        w("| server | requests/s | succeeded / failed / errored |")
        w("|---|---:|---:|")
        for s, r in h2:
            w("| %s | %s | %s / %s / %s |" % (SERVER_LABELS.get(s, s), fmt_rps(r.get("rps")),
                                             r.get("succeeded", "–"), r.get("failed", "–"), r.get("errored", "–")))
        w("")

    # Notes
    w("## Notes")
    w("")
    loads = [r.get("loadavg_before") for s in names for sc in scen
             for r in servers[s]["scenarios"].get(sc, {}).get("reps", []) if r.get("loadavg_before") is not None]
    loads += [r.get("loadavg_before") for s in names for r in (static_of(servers, s) or {}).get("reps", [])
              if r.get("loadavg_before") is not None]
    loads += [r.get("loadavg_before") for s in names for h in (servers[s].get("h2_scenarios") or {}).values()
              for r in h.get("reps", []) if r.get("loadavg_before") is not None]
    w("- **Shared machine.** This ran on a shared %d-core machine where other work (builds and "
      "tests of other engineers) may run at the same time; that is noise in every number. The "
      "1-minute load average before the wrk runs ranged %s (2 cores; the benchmark itself "
      "contributes up to ~2)." % (meta["cores"], "from %.2f to %.2f" % (min(loads), max(loads)) if loads else "–"))
    if loads and max(loads) > 2 * meta["cores"]:
        w("- **This run was disturbed**: the load average went above %d, so the pinned cores were "
          "shared with other processes (see the server CPU utilization table: a saturated server "
          "would be near 100 %%). Requests/s and p99 are unreliable in this run; server CPU time "
          "per request and context switches per request are the more robust comparison. Re-run "
          "`bench/run.sh` on a quiet machine for throughput numbers." % (2 * meta["cores"]))
    w("- Every server gets one core (CPU 0) and wrk one core (CPU 1); thread counts differ by "
      "design (falconet %d workers, the peers %d threads/processes), so on one core extra threads "
      "only cost context switches. With one wrk thread on one core, the load generator itself can "
      "be the limit for the fastest servers: compare them by latency as well." % (
          meta["falconet_workers"], meta["peer_threads"]))
    w("- tiny_http 0.12 runs one thread per open connection besides the %d `recv()` threads, "
      "so it does not starve with %d idle connections, but it pays about one thread (and its "
      "stack) per connection: see its thread count and RSS." % (meta["peer_threads"], meta["idle_count"]))
    raised = []
    if meta.get("idle_counts"):
        raised.append("in the idle phase")
    if meta.get("slowhead"):
        raised.append("in the slowhead phase")
    w("- nginx's idle RSS includes its preallocated connection tables (`worker_connections 4096`%s, "
      "2 workers) and the master process." % (
          ", raised to the connections held + 1,100 where that is more " + " and ".join(raised)
          if raised else ""))
    w("- `Connection: close` measures connection setup and teardown; server-side TIME_WAIT "
      "sockets accumulate over the run.")
    w("- Raw wrk/h2load/probe output of the last run is in `bench/scratch/latest/` (not committed).")
    for s in names:
        p = servers[s].get("idle", {}).get("probe", {})
        if p and not p.get("all_answered", True):
            w("- %s answered %d of %d idle-probe requests (timeouts %d, closed %d, errors %d%s)." % (
                s, p.get("answered", 0), p.get("count", 0), p.get("timeouts", 0), p.get("closed", 0),
                p.get("errors", 0), (": " + p["first_error"]) if p.get("first_error") else ""))
        if p and p.get("connect_errors"):
            w("- %s: %d connects of the idle burst failed (%s)." % (s, p["connect_errors"], p.get("first_connect_error")))
        if p and p.get("fresh_status") not in (None, "ok"):
            w("- %s did not answer a fresh request within %d s while %d idle connections were held (%s)." % (
                s, p.get("fresh_timeout_ms", 5000) // 1000, p.get("count", 0), p.get("fresh_status")))
        if servers[s].get("idle") and not servers[s]["idle"].get("server_alive_after", True):
            w("- %s was no longer running after the idle-connection probe." % s)
    extra = os.path.join(out_dir, "NOTES.md")
    if os.path.exists(extra):
        w("")
        w(open(extra).read().strip())
    w("")
    open(os.path.join(out_dir, "RESULTS.md"), "w").write("\n".join(L))
    chart(res, os.path.join(out_dir, "chart.svg"))


def smed(d, *keys):
    """The median of the spread at d[keys[0]][keys[1]]..., or None."""
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d["median"] if isinstance(d, dict) and "median" in d else None


def https_close_name(meta):
    hm = meta.get("https") or {}
    return next((sc["name"] for sc in hm.get("scenarios", []) if sc.get("header")), None)


def idle_per_conn(run):
    """Bytes of server RSS per held idle connection: (RSS held - RSS idle) / connections held."""
    if not run or "rss_held_kb" not in run:
        return None
    held = (run.get("probe") or {}).get("connected")
    if not held:
        return None
    return (run["rss_held_kb"] - run["rss_idle_kb"]) * 1024 / held


def fmt_bytes(x):
    if x is None:
        return "–"
    if abs(x) >= 10240:
        return "%.1f KiB" % (x / 1024)
    return "{:,.0f} B".format(x)


def headline_extra(row, meta, servers):
    """Headline rows of the phases added after the first four: small static file, HTTPS, idle
    memory per connection, slow heads, system calls. Each only when falconet ran in it."""
    fal = servers.get("falconet", {})
    ss = meta.get("static_small")
    if ss and fal.get("static_small"):
        def small(s, f):
            return f(servers[s]["static_small"]) if servers[s].get("static_small") else NA
        row("**%d-byte static file**: requests/s" % ss["file_bytes"],
            lambda s: small(s, lambda d: fmt_rps(smed(d, "rps"))))
        row("%d-byte static file: falconet / peer" % ss["file_bytes"], lambda s: small(
            s, lambda d: fmt_ratio(ratio(smed(fal["static_small"], "rps"), smed(d, "rps")))))
    hm = meta.get("https")
    if hm and fal.get("https"):
        def hs(s, name, f):
            h = servers[s].get("https")
            if h is None:
                return NA
            v = smed(h, "scenarios", name, "rps")
            return f(v) if v is not None else "**failed**"
        fh = fal["https"]
        for sc in hm["scenarios"]:
            nm = sc["name"]
            label = ("**HTTPS, %d conns, Connection: close**: handshakes/s" % sc["connections"]
                     if sc.get("header") else "**HTTPS, keep-alive %d conns**: requests/s" % sc["connections"])
            row(label, lambda s, nm=nm: hs(s, nm, fmt_rps))
            row("HTTPS %s: falconet / peer" % ("close %d" % sc["connections"] if sc.get("header")
                                               else "keep-alive %d" % sc["connections"]),
                lambda s, nm=nm: hs(s, nm, lambda v: fmt_ratio(ratio(smed(fh, "scenarios", nm, "rps"), v))))
    counts = meta.get("idle_counts") or []
    if fal.get("idle_runs"):
        for c in counts:
            row("RSS per idle keep-alive conn (%s held)" % "{:,}".format(c),
                lambda s, c=c: fmt_bytes(idle_per_conn((servers[s].get("idle_runs") or {}).get(str(c))))
                if (servers[s].get("idle_runs") or {}).get(str(c)) else NA)
    sh = meta.get("slowhead")
    if sh and fal.get("slowhead"):
        for sc, what in (("ka16", "keep-alive 16 req/s"), ("close16", "new connections/s (close 16)")):
            row("with %s slow heads held: %s, with / without" % ("{:,}".format(sh["count"]), what),
                lambda s, sc=sc: fmt_ratio(smed(servers[s]["slowhead"], "ratio_" + sc))
                if servers[s].get("slowhead") else NA)
    sy = meta.get("syscalls")
    if sy and fal.get("syscalls"):
        row("system calls per request (ka16, strace -c)", lambda s: fmt_f2(smed(servers[s]["syscalls"], "syscalls_per_req"))
            if servers[s].get("syscalls") else NA)


def resumption_cell(r, version):
    """tls_probe.py's result for one TLS version, in words."""
    if not r or version not in r:
        return "–"
    x = r[version]
    if not x.get("ok"):
        return "error: %s" % (x.get("error") or "?")[:80]
    if not x.get("resumed"):
        return "**not resumed**" + (" (ticket sent)" if x.get("has_ticket") else "")
    if version == "tls1_3":
        return "resumed (ticket lifetime %s s)" % x.get("ticket_lifetime_hint")
    return ("resumed by ticket (lifetime %s s)" % x.get("ticket_lifetime_hint") if x.get("has_ticket")
            else "resumed by session ID (server-side cache)")


def render_https(w, meta, servers, names, reps):
    hm = meta["https"]
    run = [s for s in names if s in hm["servers"]]
    scs = hm["scenarios"]
    close = https_close_name(meta)
    pinned = "taskset" in meta.get("pinning", "")

    def sc_label(sc):
        if sc.get("header"):
            return "Connection: close, %d conns (handshakes/s)" % sc["connections"]
        return HTTPS_LABELS.get(sc["name"], "keep-alive, %d conns" % sc["connections"])

    w("## HTTPS (TLS): keep-alive and a handshake per request")
    w("")
    w("`wrk -t1 -cN -d%ds --timeout 5s --latency https://127.0.0.1:PORT/` (HTTP/1.1: wrk offers "
      "no ALPN) against falconet (`examples/hello.rs` with `--urls https://127.0.0.1:PORT` and the "
      "certificate as `Kestrel:Certificates:Default` in its appsettings.json), nginx (`listen ... "
      "ssl; ssl_protocols TLSv1.2 TLSv1.3;`) and lighttpd (`mod_openssl`, `ssl.engine`, its "
      "defaults otherwise: TLS 1.2 minimum), all with one certificate: %s. TLS 1.2 and 1.3 "
      "are allowed everywhere; OpenSSL's client (wrk) picks TLS 1.3. Each server is started fresh "
      "per repetition, checked (curl against the certificate: 200, text/plain, the body), warmed "
      "up with 16 keep-alive connections for %d s, then the scenarios in order. Median of the "
      "repetitions, min–max in small print." % (
          meta["duration_s"], hm.get("certificate", "?"), meta["warmup_s"]))
    w("")
    if close:
        csc = next(sc for sc in scs if sc["name"] == close)
        w("**Connection: close** (%d connections): every request on a new TCP connection with a "
          "TLS handshake, so requests/s = handshakes/s. wrk keeps each connection's TLS session "
          "and offers it again on the next connect (it reuses its `SSL` object: `SSL_shutdown` then "
          "`SSL_clear`), so where a server resumes sessions by default these are mostly *resumed* "
          "handshakes (TLS 1.3: a PSK plus an X25519 key exchange, no certificate signature). "
          "Whether each server resumed is in the table below (measured on its own by "
          "`bench/tls_probe.py`, a second connection offering the first one's session)." %
          csc["connections"])
        w("")
    cols = ["server"] + [sc_label(sc) for sc in scs] + ["falconet / server (%s)" % " / ".join(
        ("close %d" if sc.get("header") else "%d") % sc["connections"] for sc in scs)]
    w("| " + " | ".join(cols) + " |")
    w("|---|" + "---:|" * (len(cols) - 1))
    fal = servers.get("falconet", {}).get("https")
    for s in names:
        h = servers[s].get("https")
        if h is None:
            why = "not run" if s in ("falconet", "nginx", "lighttpd") else "no HTTPS server here"
            w("| %s | %s (%s) |%s" % (SERVER_LABELS.get(s, s), NA, why, " |" * (len(cols) - 2)))
            continue
        cells = []
        for sc in scs:
            d = h["scenarios"].get(sc["name"], {})
            cells.append(cell(d.get("rps"), fmt_rps, reps) if d.get("rps") else "**failed**")
        rat = " / ".join(fmt_ratio(ratio(smed(fal, "scenarios", sc["name"], "rps"),
                                        smed(h, "scenarios", sc["name"], "rps"))) for sc in scs) if fal else "–"
        w("| %s | %s | %s |" % (SERVER_LABELS.get(s, s), " | ".join(cells), rat))
    w("")
    w("Latency p50 / p99, and the server's CPU time per request (CPU time of its processes / "
      "wrk's completed requests)%s:" % (" and the busy share of its core" if pinned else ""))
    w("")
    w("| server | " + " | ".join(sc_label(sc) for sc in scs) + " |")
    w("|---|" + "---:|" * len(scs))
    for s in run:
        h = servers[s].get("https") or {}
        cells = []
        for sc in scs:
            d = h.get("scenarios", {}).get(sc["name"], {})
            c = smed(d, "cpu_us_per_req")
            u = smed(d, "cpu_util")
            cells.append("%s / %s; %s%s" % (
                cell(d.get("p50_ms"), fmt_ms, reps), cell(d.get("p99_ms"), fmt_ms, reps),
                "–" if c is None else "%.1f µs CPU" % c,
                "" if u is None else " (%s)" % fmt_pct(u)))
        w("| %s | %s |" % (SERVER_LABELS.get(s, s), " | ".join(cells)))
    w("")
    w("**Session resumption and what was negotiated** (each server as configured above, i.e. its "
      "defaults). Negotiated: `openssl s_client -brief` (OpenSSL's defaults, as wrk's). TLS 1.3 / "
      "1.2: `bench/tls_probe.py` (Python's ssl, one version at a time): a first connection with a "
      "request, then a second one offering its session.")
    w("")
    w("| server | negotiated | TLS 1.3 resumption | TLS 1.2 resumption | resumption settings |")
    w("|---|---|---|---|---|")
    for s in run:
        h = servers[s].get("https") or {}
        n = h.get("negotiated") or {}
        neg = ", ".join(x for x in (n.get("protocol"), n.get("cipher"), n.get("key_exchange")) if x) or "–"
        w("| %s | %s | %s | %s | %s |" % (
            SERVER_LABELS.get(s, s), neg, resumption_cell(h.get("resumption"), "tls1_3"),
            resumption_cell(h.get("resumption"), "tls1_2"), TLS_RESUMPTION_DEFAULTS.get(s, "–")))
    w("")
    notes = []
    for s in run:
        h = servers[s].get("https") or {}
        for f in h.get("failed", []):
            notes.append("**%s** failed in repetition %d: %s." % (s, f["rep"], f["reason"]))
        errs = sum(d.get("errors") or 0 for d in h.get("scenarios", {}).values())
        if errs:
            notes.append("%s: wrk reported %d socket errors or non-2xx answers over the HTTPS runs "
                         "(see bench/scratch/)." % (s, errs))
    if "falconet" in run:
        notes.append("falconet runs with `RUST_LOG=warn,rustls=error` here: wrk sends the URL's host "
                     "(127.0.0.1) as SNI, and rustls logs a warning for every ClientHello whose SNI "
                     "is an IP address, a log line per handshake the other servers do not write.")
    for n in notes:
        w("- " + n)
    if notes:
        w("")


def render_idle_counts(w, meta, servers, names):
    counts = meta.get("idle_counts") or []
    w("## Memory per idle keep-alive connection")
    w("")
    w("For each count, a fresh server: RSS after start, then `idle-probe` opens that many "
      "keep-alive connections (one request each) and holds them; RSS while they are held. Per "
      "connection = (RSS held − RSS idle) / connections held. nginx runs with `worker_connections` "
      "4,096, or the count + 1,100 where that is more (per worker, 2 workers; its connection "
      "tables are allocated at start, so they are in its idle RSS) and lighttpd with `server.max-connections` raised (it caps it at "
      "`server.max-fds` / 2, and `server.max-fds` at RLIMIT_NOFILE's hard limit, %s here). "
      "RLIMIT_NOFILE (soft) of every process: %s." % (meta.get("nofile_hard", "?"), meta.get("nofile", "?")))
    w("")
    w("| server | idle conns | RSS idle | RSS held | per connection | threads held | answered | "
      "fresh request while held | listen overflows |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in names:
        runs = servers[s].get("idle_runs") or {}
        for c in counts:
            r = runs.get(str(c))
            if r is None:
                continue
            if "skipped" in r:
                w("| %s | %s | skipped: %s |%s" % (SERVER_LABELS.get(s, s), "{:,}".format(c), r["skipped"], " |" * 6))
                continue
            p = r.get("probe") or {}
            answered = "%d / %d%s" % (p["answered"], p["count"], " ✓" if p.get("all_answered") else "") \
                if "answered" in p else "–"
            w("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                SERVER_LABELS.get(s, s), "{:,}".format(c), fmt_mb(r.get("rss_idle_kb")),
                fmt_mb(r.get("rss_held_kb")), fmt_bytes(idle_per_conn(r)), r.get("threads_held", "–"),
                answered, fresh_cell({"idle": r}), r.get("listen_overflows", "–")))
    w("")
    notes = []
    for s in names:
        for c in counts:
            r = (servers[s].get("idle_runs") or {}).get(str(c)) or {}
            p = r.get("probe") or {}
            if p.get("connect_errors"):
                notes.append("%s, %s: %d connects failed (%s)." % (s, "{:,}".format(c), p["connect_errors"],
                                                                   p.get("first_connect_error")))
            if p and not p.get("all_answered", True):
                notes.append("%s, %s: %d of %d answered (timeouts %d, closed %d, errors %d)." % (
                    s, "{:,}".format(c), p.get("answered", 0), p.get("count", 0), p.get("timeouts", 0),
                    p.get("closed", 0), p.get("errors", 0)))
            if r and not r.get("server_alive_after", True):
                notes.append("%s, %s: the server was no longer running after the probe." % (s, "{:,}".format(c)))
            lim = r.get("server_conn_limit")
            if lim is not None and lim <= c:
                notes.append("%s, %s: its configuration here caps it at %s connections (%s), so with "
                             "%s held it cannot accept the fresh request; that is the cap, not "
                             "slowness." % (s, "{:,}".format(c), "{:,}".format(lim),
                                            "`server.max-connections`, at most `server.max-fds` / 2, and "
                                            "`server.max-fds` at most RLIMIT_NOFILE's hard limit %s" %
                                            meta.get("nofile_hard", "?") if s == "lighttpd"
                                            else "its connection limit", "{:,}".format(c)))
    if notes:
        for n in notes:
            w("- " + n)
        w("")


def render_slowhead(w, meta, servers, names, reps):
    sh = meta["slowhead"]
    run = [s for s in names if servers[s].get("slowhead")]
    w("## Slow request heads: %s connections stuck after %d byte%s of a request head" % (
        "{:,}".format(sh["count"]), sh["head_bytes"], "" if sh["head_bytes"] == 1 else "s"))
    w("")
    w("Each server is started fresh and warmed up; then `wrk -t1 -c16` keep-alive and `wrk -t1 "
      "-c16 -H 'Connection: close'` (new connections accepted per second), %d s each, *without* "
      "holders; then `bench/peers` `slow-head` opens %s connections that each send `%s` and "
      "nothing more, and the same two wrk runs are repeated *while they hold*. Ratio = with / "
      "without (1.00× = unaffected). The holders then check, without blocking, which of their "
      "connections the server had closed or answered meanwhile. The measured runs end about "
      "2 × %d + 2 s after the first holder connected (column *first connect → end*): servers close "
      "such connections after their request-head timeout, so that must stay below it for the "
      "holders to be there for the whole measurement: %s." % (
          meta["duration_s"], "{:,}".format(sh["count"]),
          "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"[:sh["head_bytes"]].replace("\r", "\\r").replace("\n", "\\n"),
          meta["duration_s"], "; ".join("%s: %s" % (s, SLOWHEAD_TIMEOUTS.get(s, "?")) for s in run) or "–"))
    w("")
    w("| server | holders connected (connect time) | still open at the end (closed / answered by the "
      "server) | first connect → end | listen overflows | RSS without → with holders | keep-alive 16: "
      "req/s without → with | ratio | Connection: close 16: req/s without → with | ratio | p99 "
      "keep-alive without → with |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in names:
        d = servers[s].get("slowhead")
        if d is None:
            continue
        rs = d["reps"]
        con = [(r.get("holders") or {}).get("connected") for r in rs]
        end = [r.get("holders_end") or {} for r in rs]
        opened = [e.get("still_open") for e in end if "still_open" in e]
        closed = [e.get("closed_by_server", 0) for e in end if "still_open" in e]
        answered = [e.get("answered", 0) for e in end if "still_open" in e]
        span = spread([r.get("first_connect_to_end_s") for r in rs])
        rss_b = spread([r.get("rss_before_kb") for r in rs])
        rss_h = spread([r.get("rss_held_kb") for r in rs])
        ctime = [(r.get("holders") or {}).get("connect_ms") for r in rs]
        w("| %s | %s | %s | %s | %s | %s → %s | %s → %s | %s | %s → %s | %s | %s → %s |" % (
            SERVER_LABELS.get(s, s),
            " / ".join("–" if c is None else "{:,} ({})".format(c, fmt_ms(t)) for c, t in zip(con, ctime)) or "–",
            " / ".join("{:,} ({:,} / {:,})".format(o, c, a) for o, c, a in zip(opened, closed, answered)) or "–",
            "–" if not span else "%.1f s" % span["max"],
            " / ".join(str(r.get("listen_overflows", "–")) for r in rs),
            fmt_mb(rss_b and rss_b["median"]), fmt_mb(rss_h and rss_h["median"]),
            cell(d["base_ka16"].get("rps"), fmt_rps, reps), cell(d["held_ka16"].get("rps"), fmt_rps, reps),
            cell(d.get("ratio_ka16"), fmt_ratio, reps),
            cell(d["base_close16"].get("rps"), fmt_rps, reps), cell(d["held_close16"].get("rps"), fmt_rps, reps),
            cell(d.get("ratio_close16"), fmt_ratio, reps),
            fmt_ms(smed(d, "base_ka16", "p99_ms")), fmt_ms(smed(d, "held_ka16", "p99_ms"))))
    w("")
    notes = []
    for s in run:
        d = servers[s]["slowhead"]
        for r in d["reps"]:
            h, e = r.get("holders") or {}, r.get("holders_end") or {}
            if h.get("connected") is not None and h["connected"] < sh["count"]:
                notes.append("%s, rep %d: only %s of %s holders connected (%s)." % (
                    s, r["rep"], "{:,}".format(h["connected"]), "{:,}".format(sh["count"]),
                    h.get("first_error") or "?"))
            if "error" in h:
                notes.append("%s, rep %d: %s." % (s, r["rep"], h["error"]))
            if e.get("answered"):
                notes.append("%s, rep %d: the server answered %s holders meanwhile (first: `%s`)." % (
                    s, r["rep"], "{:,}".format(e["answered"]), e.get("first_answer", "")))
            if (r.get("first_connect_to_end_s") or 0) > 30:
                notes.append("%s, rep %d: the measured runs ended %.1f s after the first holder "
                             "connected, past a 30 s request-head timeout." % (s, r["rep"], r["first_connect_to_end_s"]))
            if not r.get("server_alive_after", True):
                notes.append("**%s, rep %d: the server was no longer running after the runs.**" % (s, r["rep"]))
        errs = sum((d[k].get("errors") or 0) for k in ("held_ka16", "held_close16"))
        if errs:
            notes.append("%s: wrk reported %d socket errors / non-2xx answers with the holders." % (s, errs))
        zero = [k for k in ("held_ka16", "held_close16")
                if any((r.get(k) or {}).get("requests") == 0 for r in d["reps"])]
        if zero:
            notes.append("**%s: no request completed** in %s while the holders were connected "
                         "(wrk got no answer during its run; a non-zero listen-overflow count above means SYNs were "
                         "dropped because the server's accept queue was full)." % (
                             s, " and ".join("keep-alive 16" if k == "held_ka16" else "Connection: close 16"
                                             for k in zero)))
    for n in notes:
        w("- " + n)
    if notes:
        w("")


def render_cores(w, meta, servers, names, reps):
    cs = meta["core_sweep"]
    run = cs.get("run") or []
    w("## Core sweep: the server on N cores with N workers")
    w("")
    w("For each N: the server pinned to cores 0..N−1 (`taskset`), with N workers: nginx "
      "`worker_processes N`, hyper N tokio worker threads, tiny_http N `recv()` threads, lighttpd "
      "`server.max-worker N` (one process for N = 1), falconet with its default settings (no "
      "`Falconet:Workers`: twice the cores it may run on, at least 4); wrk on the other cores, "
      "one thread per core (at most one per connection). An N runs only where the machine has at "
      "least 2N cores. Requested: %s; run: %s." % (
          ", ".join(str(n) for n in cs.get("requested", [])) or "–", ", ".join(str(n) for n in run) or "none"))
    w("")
    for sk in cs.get("skipped", []):
        w("- N = %d skipped: %s." % (sk["n"], sk["reason"]))
    if cs.get("skipped"):
        w("")
    if not run:
        return
    for sc in cs["scenarios"]:
        w("**%s** (requests/s; in brackets falconet / server):" % SCENARIO_LABELS.get(sc["name"], sc["name"]))
        w("")
        w("| server | " + " | ".join("N = %d" % n for n in run) + " |")
        w("|---|" + "---:|" * len(run))
        for s in names:
            c = servers[s].get("cores")
            if not c:
                continue
            cells = []
            for n in run:
                d = (c.get(str(n)) or {}).get("scenarios", {}).get(sc["name"], {})
                fal = smed((servers.get("falconet", {}).get("cores") or {}).get(str(n)) or {},
                           "scenarios", sc["name"], "rps")
                r = ratio(fal, smed(d, "rps"))
                cells.append("%s%s" % (cell(d.get("rps"), fmt_rps, reps),
                                       "" if s == "falconet" or r is None else " (%s)" % fmt_ratio(r)))
            w("| %s | %s |" % (SERVER_LABELS.get(s, s), " | ".join(cells)))
        w("")
    w("Processes / threads of each server after start, at each N: " + "; ".join(
        "%s %s" % (s, ", ".join("N=%s: %s" % (n, "/".join("%d/%d" % (x["processes"], x["threads"])
                                                        for x in ((servers[s]["cores"].get(str(n)) or {}).get("processes_threads") or [])[:1]) or "–")
                                for n in run))
        for s in names if servers[s].get("cores")) + ".")
    w("")


def render_syscalls(w, meta, servers, names, reps):
    sy = meta["syscalls"]
    w("## System calls and CPU time per request (keep-alive, 16 connections)")
    w("")
    w("Per server and repetition, a fresh server and warm-up, then: `wrk -t1 -c16 -d%ds` with no "
      "tracer: the server's CPU time per request = utime + stime from /proc/PID/stat of all its "
      "processes (threads that exited included) over wrk's completed requests; then `strace -c -f "
      "-p PID ...` attached to every process of the server and `wrk -t1 -c16 -d%gs`: system calls "
      "per request = strace's count of calls (every thread, errors included) / wrk's completed "
      "requests. strace slows the server down many times (requests/s under strace in the last "
      "column), so only the counts mean anything there. Top system calls: calls per request, "
      "those that returned an error (e.g. EAGAIN from a read that found nothing) in brackets. "
      "Median of the repetitions." % (
          meta["duration_s"], sy["strace_duration_s"]))
    w("")
    w("| server | requests/s (no tracer) | CPU per request | context switches per request | "
      "system calls per request | top system calls per request | requests/s under strace |")
    w("|---|---:|---:|---:|---:|---|---:|")
    for s in names:
        d = servers[s].get("syscalls")
        if d is None:
            continue
        top = ", ".join("%s %.2f%s" % (x["name"], x["per_req"], " (%.2f failed)" % x["errors_per_req"]
                                       if x.get("errors_per_req", 0) >= 0.005 else "")
                        for x in d.get("top", [])[:6] if x["per_req"] >= 0.005) or "–"
        w("| %s | %s | %s | %s | %s | %s | %s |" % (
            SERVER_LABELS.get(s, s), cell(d.get("rps"), fmt_rps, reps),
            cell(d.get("cpu_us_per_req"), fmt_us, reps), cell(d.get("cs_per_req"), fmt_f2, reps),
            cell(d.get("syscalls_per_req"), fmt_f2, reps), top, cell(d.get("strace_rps"), fmt_rps, reps)))
    w("")
    for s in names:
        d = servers[s].get("syscalls") or {}
        for r in d.get("reps", []):
            if r.get("strace_error"):
                w("- %s, rep %d: %s%s" % (s, r["rep"], r["strace_error"],
                                          (": `%s`" % r["strace_stderr"].strip().splitlines()[-1])
                                          if r.get("strace_stderr", "").strip() else ""))
    w("")


def max_streams(h):
    """SETTINGS_MAX_CONCURRENT_STREAMS the server sent (nghttp -nv at the check), or None."""
    return (h.get("server_settings") or {}).get("SETTINGS_MAX_CONCURRENT_STREAMS")


def render_h2(w, meta, sc, servers, names, reps):
    name = sc["name"]
    pinned = "taskset" in meta.get("pinning", "")
    w("## HTTP/2: h2c with prior knowledge, %d connections × %d streams" % (
        sc["connections"], sc["streams"]))
    w("")
    w("`h2load -c%d -m%d -t1 -D %g%s http://127.0.0.1:PORT/`: cleartext HTTP/2 with prior "
      "knowledge (no Upgrade, no TLS), `GET /` → `Hello, World!` as above, up to %d requests in "
      "flight on each of %d connections. Each server is started fresh for every repetition; median "
      "of the repetitions that count, min–max in small print. h2load reports no latency "
      "percentiles: *request time* is its `time for request` (request sent to response complete) "
      "over every request of the measured part, mean ± standard deviation and max; with %d "
      "streams in flight per connection it includes waiting behind the connection's other "
      "streams, so it is not comparable with the wrk latencies above. Server CPU and cores busy "
      "as in the static-file table, over the measured part (after the warm-up); h2load: its CPU "
      "time / wall time over its whole run (one thread). Max concurrent streams: the "
      "SETTINGS_MAX_CONCURRENT_STREAMS the server sent (`nghttp -nv`)." % (
          sc["connections"], sc["streams"], sc["duration_s"],
          " --warm-up-time %g" % sc["warmup_s"] if sc.get("warmup_s") else "",
          sc["streams"], sc["connections"], sc["streams"]))
    w("")
    w("Before measuring, run.sh checks each server with `curl --http2-prior-knowledge` (HTTP/2 "
      "200, `Content-Type: text/plain`, the body) and a 20-request h2load run; a repetition counts "
      "only if h2load used h2c, every succeeded request got a 2xx and at most %g %% of the requests "
      "failed. (h2load prints `Application protocol: h2c` for any cleartext server, even one that "
      "answers HTTP/1.1 only; such a server fails these checks and is shown as failed.)" % (
          H2_MAX_BAD_SHARE * 100))
    w("")
    cols = ["server", "requests/s", "request time mean ± sd", "request time max",
            "falconet / server (requests/s)", "server: core / CPU per request / cs per request",
            "h2load: core", "server's max concurrent streams"]
    if pinned:
        cols.append("cores busy (CPU 0 / CPU 1)")
    cols.append("repetitions counted")
    w("| " + " | ".join(cols) + " |")
    w("|---|" + "---:|" * (len(cols) - 1))
    fal_rps = h2_med(servers, "falconet", name, "rps")
    for s in names:
        h = h2_of(servers, s, name)
        label = h2_label(s)
        if h is None:
            w("| %s | %s (%s) |%s" % (label, NA, h2_missing(s), " |" * (len(cols) - 2)))
            continue
        n_reps = len(h["reps"])
        counted = "%d / %d" % (h["ok_reps"], n_reps)
        if h["status"] != "ok":
            counted = "**%s** (%s)" % (counted, "failed" if h["status"] == "failed" else "see below")
        if not h.get("rps"):
            w("| %s | **failed** |%s %s |" % (label, " |" * (len(cols) - 3), counted))
            continue
        u, c, x = h.get("cpu_util"), h.get("cpu_us_per_req"), h.get("cs_per_req")
        sd = h.get("req_time_sd_ms")
        row = [label, cell(h["rps"], fmt_rps, reps),
               "%s ± %s" % (cell(h.get("req_time_mean_ms"), fmt_ms, reps), fmt_ms(sd["median"] if sd else None)),
               cell(h.get("req_time_max_ms"), fmt_ms, reps),
               fmt_ratio(ratio(fal_rps, h2_med(servers, s, name, "rps"))),
               "%s / %s / %s" % (fmt_pct(u["median"] if u else None),
                                 "–" if not c else "%.1f µs" % c["median"],
                                 "–" if not x else "%.2f" % x["median"]),
               fmt_pct(h2_med(servers, s, name, "client_cpu_util")),
               str(max_streams(h)) if max_streams(h) is not None else "–"]
        if pinned:
            row.append("%s / %s" % (fmt_pct(h2_med(servers, s, name, "cpu0_busy")),
                                    fmt_pct(h2_med(servers, s, name, "cpu1_busy"))))
        row.append(counted)
        w("| " + " | ".join(row) + " |")
    w("")
    notes = []
    if "falconet" in sc["servers"]:
        goals = []
        for peer, goal in H2_GOALS:
            if peer not in sc["servers"]:
                continue
            r = ratio(fal_rps, h2_med(servers, peer, name, "rps"))
            if r is None:
                why = "falconet has no result" if fal_rps is None else "%s has no result" % peer
                goals.append("≥ %.1f× %s: – (%s)" % (goal, h2_label(peer), why))
            else:
                goals.append("≥ %.1f× %s: %s, %s" % (goal, h2_label(peer), fmt_ratio(r),
                                                     "met" if r >= goal else "**not met**"))
        if goals:
            notes.append("Goals for falconet's HTTP/2 requests/s: " + "; ".join(goals) + ".")
    for s in names:
        h = h2_of(servers, s, name)
        if h and h["status"] != "ok":
            notes.append("**%s** %s in %d of %d repetitions: %s." % (
                h2_label(s), "failed" if h["status"] == "failed" else "did not count",
                len(h["reps"]) - h["ok_reps"], len(h["reps"]), h.get("reason") or "?"))
        if h and h.get("errors"):
            notes.append("%s: %d failed / errored / timed-out requests in the repetitions that "
                         "count." % (h2_label(s), h["errors"]))
    for s in names:
        h = h2_of(servers, s, name)
        ms = max_streams(h) if h else None
        if ms is not None and ms < sc["streams"]:
            notes.append("%s allows %d concurrent streams per connection (its SETTINGS_MAX_"
                         "CONCURRENT_STREAMS), so h2load had at most %d, not %d, requests in flight "
                         "on each connection there." % (h2_label(s), ms, ms, sc["streams"]))
    capped = [s for s in names if (h2_med(servers, s, name, "client_cpu_util") or 0) >= 0.9]
    if capped:
        notes.append("h2load itself used at least 90 %% of a core with %s: one h2load thread%s is "
                     "close to its limit there, so the server may be able to do more." % (
                         " and ".join(h2_label(s) for s in capped), " on one core" if pinned else ""))
    if notes:
        for n in notes:
            w("- " + n)
        w("")


def render_static(w, meta, servers, names, reps):
    st_meta = meta["static"]
    nbytes = st_meta["file_bytes"]
    mib = nbytes / 2**20
    pinned = "taskset" in meta.get("pinning", "")
    w("## Static file: %g MiB at %d keep-alive connections" % (mib, st_meta["connections"]))
    w("")
    w("`wrk -t1 -c%d -d%ds --timeout 5s --latency http://127.0.0.1:PORT%s`, the same file for every "
      "server (see Setup); median of the repetitions, min–max in small print. MB/s = requests/s × "
      "%s bytes (10⁶ bytes per MB; in MiB/s it is the requests/s figure itself). Server: CPU time "
      "of the server's processes / wall time, server CPU time per response, context switches per "
      "response. wrk: CPU time of the wrk process / wall time (it has one thread%s; near 100 %% "
      "the load generator, not the server, is the limit).%s" % (
          st_meta["connections"], meta["duration_s"], st_meta["path"], "{:,}".format(nbytes),
          " and one core" if pinned else "",
          " Cores busy: share of CPU 0 (server) and CPU 1 (wrk) that was not idle, counting every "
          "process and the kernel's softirq work (loopback TCP) on that core; a core busier than "
          "its process shows other load or kernel work." if pinned else ""))
    w("")
    cols = ["server", "requests/s", "MB/s", "p50 / p99", "falconet / server (requests/s)",
            "falconet / server (p99; below 1.00× = falconet lower)",
            "server: core / CPU per response / cs per response", "wrk: core"]
    if pinned:
        cols.append("cores busy (CPU 0 / CPU 1)")
    w("| " + " | ".join(cols) + " |")
    w("|---|" + "---:|" * (len(cols) - 1))
    fal_rps = static_med(servers, "falconet", "rps")
    fal_p99 = static_med(servers, "falconet", "p99_ms")
    for s in names:
        st = static_of(servers, s)
        label = SERVER_LABELS.get(s, s)
        if not st:
            why = "no file server" if s in ("tiny_http", "hyper") else "not run"
            w("| %s | %s (%s) |%s" % (label, NA, why, " |" * (len(cols) - 2)))
            continue
        mbs = None
        if st.get("rps"):
            sp = st["rps"]
            mbs = {k: (sp[k] * nbytes / 1e6 if k != "n" else sp[k]) for k in sp}
        u, c, x = st.get("cpu_util"), st.get("cpu_us_per_req"), st.get("cs_per_req")
        row = [label, cell(st.get("rps"), fmt_rps, reps), cell(mbs, fmt_rps, reps),
               "%s / %s" % (cell(st.get("p50_ms"), fmt_ms, reps), cell(st.get("p99_ms"), fmt_ms, reps)),
               fmt_ratio(ratio(fal_rps, static_med(servers, s, "rps"))),
               fmt_ratio(ratio(fal_p99, static_med(servers, s, "p99_ms"))),
               "%s / %s / %s" % (fmt_pct(u["median"] if u else None),
                                 "–" if not c else "%.0f µs" % c["median"],
                                 "–" if not x else "%.2f" % x["median"]),
               fmt_pct(static_med(servers, s, "client_cpu_util"))]
        if pinned:
            row.append("%s / %s" % (fmt_pct(static_med(servers, s, "cpu0_busy")),
                                    fmt_pct(static_med(servers, s, "cpu1_busy"))))
        w("| " + " | ".join(row) + " |")
    w("")
    # What the numbers say, from the numbers of this run.
    peers = [s for s in names if s != "falconet" and static_of(servers, s)]
    notes = []
    if fal_rps and peers:
        notes.append("falconet's requests/s were %s." % " and ".join(
            "%s %s's" % (fmt_ratio(ratio(fal_rps, static_med(servers, p, "rps"))), p) for p in peers))
    notes.append("How the bytes move: all three hand the open file to the kernel with "
                 "sendfile(2) (nginx with `sendfile on`, lighttpd by its Linux default, falconet "
                 "on every plain-TCP connection), which queues page-cache pages on the socket "
                 "without copying them through the process; falconet writes the response head "
                 "first with MSG_MORE so that it leaves with the file's first bytes (a file that "
                 "fits a 4 KiB buffer with its head is read behind the head and sent in one "
                 "write instead). Per request, falconet and nginx (no `open_file_cache`) open and "
                 "stat the file (falconet opens it with openat2 beneath the root, which refuses "
                 "symlinks out of it), while lighttpd keeps open descriptors in its stat cache. "
                 "With precompressed variants on (its default), falconet also looks for "
                 "`file.br` and `file.gz` and remembers a name without them for a second.")
    fal_cpu = static_med(servers, "falconet", "cpu_us_per_req")
    if fal_cpu and peers:
        notes.append("Server CPU time per response: falconet %.0f µs vs %s." % (fal_cpu, ", ".join(
            "%s %.0f µs" % (p, static_med(servers, p, "cpu_us_per_req")) for p in peers
            if static_med(servers, p, "cpu_us_per_req"))))
    busy = [(s, static_med(servers, s, "client_cpu_util")) for s in names if static_of(servers, s)]
    capped = [s for s, b in busy if b is not None and b >= 0.9]
    if capped:
        notes.append("wrk itself used at least 90 %% of a core with %s: that figure is close to what "
                     "one wrk thread can receive here, so the server may be able to do more." %
                     " and ".join(capped))
    st_loads = [r.get("loadavg_before") for s in names for r in (static_of(servers, s) or {}).get("reps", [])
                if r.get("loadavg_before") is not None]
    if st_loads:
        notes.append("1-minute load average before these runs: %.2f to %.2f." % (min(st_loads), max(st_loads)))
    w(" ".join(notes))
    w("")


def render_static_small(w, meta, servers, names, reps):
    ss = meta["static_small"]
    pinned = "taskset" in meta.get("pinning", "")
    w("## Static file: %d bytes at %d keep-alive connections" % (ss["file_bytes"], ss["connections"]))
    w("")
    w("`wrk -t1 -c%d -d%ds --timeout 5s --latency http://127.0.0.1:PORT%s`: the same %d bytes as the "
      "hello answer (`%s`), but from the file system: what a file server costs per request besides "
      "moving bytes (path mapping, open/stat, headers such as Last-Modified and ETag, content type). "
      "Same servers and configuration as the 1 MiB file, on the same server process right after "
      "it, warmed up on this file for %d s. Columns as in the 1 MiB table." % (
          ss["connections"], meta["duration_s"], ss["path"], ss["file_bytes"], ss["path"].lstrip("/"),
          meta["warmup_s"]))
    w("")
    cols = ["server", "requests/s", "p50 / p99", "falconet / server (requests/s)",
            "server: core / CPU per response / cs per response", "wrk: core"]
    if pinned:
        cols.append("cores busy (CPU 0 / CPU 1)")
    w("| " + " | ".join(cols) + " |")
    w("|---|" + "---:|" * (len(cols) - 1))
    fal = smed(servers.get("falconet", {}).get("static_small") or {}, "rps")
    for s in names:
        st = servers[s].get("static_small")
        if not st:
            why = "no file server" if s in ("tiny_http", "hyper") else "not run"
            w("| %s | %s (%s) |%s" % (SERVER_LABELS.get(s, s), NA, why, " |" * (len(cols) - 2)))
            continue
        u, c, x = smed(st, "cpu_util"), smed(st, "cpu_us_per_req"), smed(st, "cs_per_req")
        row = [SERVER_LABELS.get(s, s), cell(st.get("rps"), fmt_rps, reps),
               "%s / %s" % (cell(st.get("p50_ms"), fmt_ms, reps), cell(st.get("p99_ms"), fmt_ms, reps)),
               fmt_ratio(ratio(fal, smed(st, "rps"))),
               "%s / %s / %s" % (fmt_pct(u), "–" if c is None else "%.1f µs" % c, "–" if x is None else "%.2f" % x),
               fmt_pct(smed(st, "client_cpu_util"))]
        if pinned:
            row.append("%s / %s" % (fmt_pct(smed(st, "cpu0_busy")), fmt_pct(smed(st, "cpu1_busy"))))
        w("| " + " | ".join(row) + " |")
    w("")
    heads = []
    for s in names:
        h = (servers[s].get("static_small") or {}).get("response_head")
        if h:
            ct = re.search(r"^content-type:\s*(.+)$", h, re.M | re.I)
            heads.append("%s `%s`" % (s, ct.group(1).strip() if ct else "no Content-Type"))
    if heads:
        w("Content-Type of the answer: " + ", ".join(heads) + ".")
        w("")


def fresh_cell(sr):
    p = sr.get("idle", {}).get("probe", {})
    if not p or "fresh_status" not in p:
        return "–"
    if p["fresh_status"] == "ok":
        return fmt_ms(p["fresh_ms"])
    if p["fresh_status"] == "timeout":
        return "**timeout** (> %d s)" % (p.get("fresh_timeout_ms", 5000) // 1000)
    return "**%s**" % p["fresh_status"]


def chart(res, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Text as text (small, greppable SVG) and no timestamp/random ids (stable diffs).
    plt.rcParams["svg.fonttype"] = "none"
    plt.rcParams["svg.hashsalt"] = "falconet-bench"

    meta, servers = res["meta"], res["servers"]
    names = [s for s in meta["servers"] if s in servers]
    scen = [sc["name"] for sc in meta["scenarios"]]
    colors = {"falconet": "#d62728", "tiny_http": "#7f7f7f", "hyper": "#1f77b4",
              "nginx": "#2ca02c", "lighttpd": "#ff7f0e"}
    st_meta = meta.get("static")
    has_static = bool(st_meta) and any(servers[s].get("static") for s in names)
    h2scs = [sc for sc in meta.get("h2_scenarios") or []
             if any(h2_of(servers, s, sc["name"]) for s in names)]
    has_idle = any(servers[s].get("idle") for s in names)
    hm = meta.get("https")
    https_names = [s for s in names if servers[s].get("https")]
    # Panels, left to right: HTTP/1.1 scenarios (wide), static file, HTTP/2, HTTPS, memory; each
    # only when that phase ran.
    kinds = (["http1"] if scen else []) + (["static"] if has_static else []) + \
        ["h2"] * len(h2scs) + (["https"] if https_names else []) + (["memory"] if has_idle else [])
    if not kinds:
        return
    ratios = [2.2 if k == "http1" else 1 for k in kinds]
    fig, axes = plt.subplots(1, len(kinds), figsize=(4 * sum(ratios) + 0.2, 4.8),
                             gridspec_kw={"width_ratios": ratios}, squeeze=False)
    axes = list(axes[0])
    ax1 = axes[0] if scen else None
    ax3 = axes[kinds.index("static")] if has_static else None
    ax2 = axes[-1] if has_idle else None
    h2axes = [axes[i] for i, k in enumerate(kinds) if k == "h2"]
    if https_names:
        # HTTPS: requests/s per scenario (grouped by server); the close scenario is handshakes/s.
        ax = axes[kinds.index("https")]
        hscs = hm["scenarios"]
        wd = 0.8 / len(https_names)
        for k, s in enumerate(https_names):
            meds, lo, hi = [], [], []
            for sc in hscs:
                sp = servers[s]["https"]["scenarios"].get(sc["name"], {}).get("rps")
                m = sp["median"] if sp else 0
                meds.append(m)
                lo.append(m - sp["min"] if sp else 0)
                hi.append(sp["max"] - m if sp else 0)
            xs = [i + (k - (len(https_names) - 1) / 2) * wd for i in range(len(hscs))]
            ax.bar(xs, meds, wd, label=s, color=colors.get(s), yerr=[lo, hi] if meta["reps"] > 1 else None,
                   capsize=2, error_kw={"elinewidth": 0.8})
            for x, m, h, sc in zip(xs, meds, hi, hscs):
                if sc.get("header") and m:  # handshakes/s: small next to keep-alive, so the number
                    ax.annotate("{:,.0f}".format(m), (x, m + (h if meta["reps"] > 1 else 0)), xytext=(0, 2),
                                textcoords="offset points", ha="center", va="bottom", fontsize=6, rotation=90)
        ax.set_xticks(range(len(hscs)))
        ax.set_xticklabels([("close, %d conns\n(handshakes/s)" if sc.get("header") else "keep-alive\n%d conns")
                            % sc["connections"] for sc in hscs], fontsize=8)
        ax.set_ylabel("requests/s (median; bars: min–max)")
        ax.set_title("HTTPS (TLS), wrk -t1")
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: "{:,.0f}".format(v)))
        ax.set_ylim(top=ax.get_ylim()[1] * 1.15)
        ax.legend(fontsize=8, ncol=len(https_names), loc="upper right")
        ax.grid(axis="y", alpha=0.3)
    width = 0.8 / max(1, len(names))
    for k, s in enumerate(names if scen else []):
        meds, lo, hi = [], [], []
        for sc in scen:
            sp = servers[s]["scenarios"].get(sc, {}).get("rps")
            m = sp["median"] if sp else 0
            meds.append(m)
            lo.append(m - sp["min"] if sp else 0)
            hi.append(sp["max"] - m if sp else 0)
        xs = [i + (k - (len(names) - 1) / 2) * width for i in range(len(scen))]
        ax1.bar(xs, meds, width, label=s, color=colors.get(s), yerr=[lo, hi] if meta["reps"] > 1 else None,
                capsize=2, error_kw={"elinewidth": 0.8})
    if scen:
        ax1.set_xticks(range(len(scen)))
        ax1.set_xticklabels([SCENARIO_LABELS.get(s, s).replace(", ", "\n") for s in scen])
        ax1.set_ylabel("requests/s (median; bars: min–max)")
        ax1.set_title("Throughput, wrk -t1, %d s × %d" % (meta["duration_s"], meta["reps"]))
        ax1.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: "{:,.0f}".format(v)))
        ax1.set_ylim(top=ax1.get_ylim()[1] * 1.15)
        ax1.legend(fontsize=8, ncol=len(names), loc="upper left")
        ax1.grid(axis="y", alpha=0.3)

    for ax, sc in zip(h2axes, h2scs):
        # HTTP/2: requests/s of the servers that completed it; "failed" / "n/a" for the others.
        xs = list(range(len(names)))
        meds, lo, hi = [], [], []
        for s in names:
            sp = (h2_of(servers, s, sc["name"]) or {}).get("rps")
            m = sp["median"] if sp else 0
            meds.append(m)
            lo.append(m - sp["min"] if sp else 0)
            hi.append(sp["max"] - m if sp else 0)
        many = meta["reps"] > 1
        ax.bar(xs, meds, 0.6, color=[colors.get(s) for s in names], hatch="//",
               edgecolor="white", yerr=[lo, hi] if many else None, capsize=2,
               error_kw={"elinewidth": 0.8})
        top = max(m + (h if many else 0) for m, h in zip(meds, hi)) or 1
        for x, s, m, h in zip(xs, names, meds, hi):
            hs = h2_of(servers, s, sc["name"])
            if hs and hs.get("rps"):
                ax.annotate("{:,.0f}".format(m), (x, m + (h if many else 0)), xytext=(0, 2),
                            textcoords="offset points", ha="center", va="bottom", fontsize=7)
            else:
                ax.text(x, top * 0.03, "failed" if hs else "n/a", ha="center", va="bottom",
                        fontsize=8, color="#d62728" if hs else "#666666", rotation=90 if hs else 0)
        ax.set_xticks(xs)
        ax.set_xticklabels(names, fontsize=8)
        ax.set_ylabel("requests/s (median; bars: min–max)")
        ax.set_title("HTTP/2 h2c, h2load -c%d -m%d" % (sc["connections"], sc["streams"]))
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: "{:,.0f}".format(v)))
        ax.set_ylim(top=top * 1.2)
        ax.grid(axis="y", alpha=0.3)

    if has_static:
        # The static file: requests/s of the servers with a file server, "n/a" for the others.
        xs = list(range(len(names)))
        meds, lo, hi = [], [], []
        for s in names:
            sp = (servers[s].get("static") or {}).get("rps")
            m = sp["median"] if sp else 0
            meds.append(m)
            lo.append(m - sp["min"] if sp else 0)
            hi.append(sp["max"] - m if sp else 0)
        ax3.bar(xs, meds, 0.6, color=[colors.get(s) for s in names],
                yerr=[lo, hi] if meta["reps"] > 1 else None, capsize=2, error_kw={"elinewidth": 0.8})
        top = max(m + (h if meta["reps"] > 1 else 0) for m, h in zip(meds, hi)) or 1
        for x, s, m, h in zip(xs, names, meds, hi):
            if servers[s].get("static"):
                # Above the error bar, so the label does not cross it.
                y = m + (h if meta["reps"] > 1 else 0)
                ax3.annotate("{:,.0f}\n{:.2f} GB/s".format(m, m * st_meta["file_bytes"] / 1e9), (x, y),
                             xytext=(0, 2), textcoords="offset points", ha="center", va="bottom",
                             fontsize=7)
            else:
                ax3.text(x, top * 0.03, "n/a", ha="center", va="bottom", fontsize=8, color="#666666")
        ax3.set_xticks(xs)
        ax3.set_xticklabels(names, fontsize=8)
        ax3.set_ylabel("requests/s (median; bars: min–max)")
        ax3.set_title("%g MiB static file, %d keep-alive conns" % (
            st_meta["file_bytes"] / 2**20, st_meta["connections"]))
        ax3.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: "{:,.0f}".format(v)))
        ax3.set_ylim(top=top * 1.2)
        ax3.grid(axis="y", alpha=0.3)

    if has_idle:
        w2 = 0.38
        idle = [servers[s].get("idle", {}).get("rss_idle_kb", 0) / 1024 for s in names]
        held = [servers[s].get("idle", {}).get("rss_held_kb", 0) / 1024 for s in names]
        xs = range(len(names))
        ax2.bar([x - w2 / 2 for x in xs], idle, w2, label="idle", color="#bbbbbb")
        ax2.bar([x + w2 / 2 for x in xs], held, w2, label="%d idle keep-alive conns" % meta["idle_count"],
                color=[colors.get(s) for s in names])
        for x, s, h in zip(xs, names, held):
            p = servers[s].get("idle", {}).get("probe", {})
            if p.get("fresh_status") and p["fresh_status"] != "ok":
                ax2.annotate("fresh req.\n" + p["fresh_status"], (x + w2 / 2, h), ha="center", va="bottom", fontsize=7)
        ax2.set_xticks(list(xs))
        ax2.set_xticklabels(names, fontsize=8)
        ax2.set_ylabel("resident memory (MB)")
        ax2.set_title("Memory (VmRSS)")
        ax2.set_ylim(top=ax2.get_ylim()[1] * 1.2)
        ax2.legend(fontsize=8, loc="upper left")
        ax2.grid(axis="y", alpha=0.3)
    fig.suptitle("falconet vs peers — %s, %d cores, %s%s" % (
        meta["cpu_model"], meta["cores"], meta["date_utc"][:10], " (QUICK)" if meta.get("quick") else ""),
        fontsize=10)
    fig.tight_layout()
    fig.savefig(path, metadata={"Date": None})
    plt.close(fig)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "collect":
        json.dump(collect(sys.argv[2], sys.argv[3]), sys.stdout, indent=1)
        sys.stdout.write("\n")
    elif len(sys.argv) == 4 and sys.argv[1] == "render":
        render(sys.argv[2], sys.argv[3])
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
