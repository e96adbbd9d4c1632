#!/usr/bin/env python3
"""Report of bench/attacks.sh: falconet and nginx under attack.

    attacks_report.py collect SCRATCH_DIR > attacks.json    # parse the raw output of a run
    attacks_report.py render attacks.json ATTACKS.md        # write the Markdown report

SCRATCH_DIR is what attacks.sh wrote (bench/scratch/attacks-*/): meta.env and, per scenario
and server, cases/SCENARIO-SERVER/ with case.env (key=value lines), wrk-base.txt and
wrk-attack.txt (wrk --latency output with run.sh's "# ..." counter lines), samples.txt (epoch
seconds, RSS kB, threads, descriptors of the server's processes every 0.5 s) and the
attacker's output: attack.json (bench/peers attack, one JSON line) or slowhttptest.out /
slowhttptest.csv. Standard library only.
"""

import json
import os
import re
import sys

SCENARIO_TEXT = {
    "slowloris": "slowhttptest -H (slowloris): {slow_conns} connections, opened at {slow_rate}/s, "
                 "each sending an unfinished request head and one more header line every 10 s.",
    "slowbody": "slowhttptest -B (slow POST / R-U-D-Y): {slow_conns} POSTs with Content-Length "
                "8192, the body sent a few bytes every 10 s, to an endpoint that reads the body "
                "(falconet: `echo` example, POST /; nginx: POST /upload, proxied with request "
                "buffering to a local server block).",
    "slowread": "slowhttptest -X (slow read): {slow_conns} connections asking for the 1 MiB "
                "/file.bin three times (pipelined), advertising a 512-1024 byte receive window "
                "and reading 32 bytes every 5 s (falconet: the `falconet` binary with --root; "
                "nginx: root, sendfile). wrk asks for the 13-byte /hello.txt of the same server.",
    "drip": "bench/peers `attack drip`: {drip_conns} connections (4 x Workers) sending valid GET "
            "heads one byte every {drip_interval_ms} ms, a new request after each answer, "
            "reconnecting when closed.",
    "flood_idle": "bench/peers `attack flood --mode idle`: {flood_conns} connections opened and "
                  "held, nothing sent.",
    "flood_byte": "bench/peers `attack flood --mode byte`: {flood_conns} connections that send "
                  "`G` and nothing more.",
    "flood_request": "bench/peers `attack flood --mode request`: {flood_conns} connections, one "
                     "GET / each (answer read), then held idle.",
    "h2_rapid_reset": "bench/peers `attack h2-rapid-reset` (CVE-2023-44487): {h2_attack_conns} "
                      "h2c connections sending HEADERS (GET /, END_STREAM) + RST_STREAM(CANCEL) "
                      "pairs on new streams as fast as possible, reading what the server sends, "
                      "reconnecting when cut off.",
    "h2_continuation": "bench/peers `attack h2-continuation`: {h2_attack_conns} h2c connections "
                       "sending HEADERS without END_HEADERS, then 16 KiB CONTINUATION frames of "
                       "literal header fields without end, reconnecting when cut off.",
    "h2_ping": "bench/peers `attack h2-ping` (CVE-2019-9512): {h2_attack_conns} h2c connections "
               "sending PING frames as fast as possible and never reading the ACKs while "
               "flooding (what the server sent is read afterwards to find its GOAWAY), "
               "reconnecting when cut off.",
}


def read_env(path):
    d = {}
    if not os.path.exists(path):
        return d
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        if "=" in line:
            k, v = line.split("=", 1)
            d[k] = v
    return d


def num(v, kind=float):
    try:
        return kind(v)
    except (TypeError, ValueError):
        return None


def wrk_time_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not m:
        return None
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}[m.group(2)]


def parse_wrk(path):
    if not os.path.exists(path):
        return None
    text = open(path, errors="replace").read()
    r = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    r["rps"] = float(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in ([\d.]+\w+),", text)
    r["requests"] = int(m.group(1)) if m else None
    for pct, key in (("50", "p50_ms"), ("90", "p90_ms"), ("99", "p99_ms")):
        m = re.search(r"^\s+%s%%\s+(\S+)" % pct, text, re.M)
        r[key] = wrk_time_ms(m.group(1)) if m and r["requests"] else None
    m = re.search(r"^\s+Latency\s+(\S+)\s+(\S+)\s+(\S+)", text, re.M)
    r["lat_max_ms"] = wrk_time_ms(m.group(3)) if m and r["requests"] else None
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    r["socket_errors"] = dict(zip(("connect", "read", "write", "timeout"), map(int, m.groups()))) if m else {}
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    r["non_2xx"] = int(m.group(1)) if m else 0
    r["errors"] = sum(r["socket_errors"].values()) + r["non_2xx"]
    # busy share of each pinned core over the run (core-stat lines: user nice system idle
    # iowait irq softirq steal)
    before, after = {}, {}
    for tag, d in (("before", before), ("after", after)):
        for m in re.finditer(r"^# core-stat-%s: (cpu\d+) (.*)$" % tag, text, re.M):
            d[m.group(1)] = [int(x) for x in m.group(2).split()]
    for cpu in ("cpu0", "cpu1"):
        if cpu in before and cpu in after:
            delta = [a - b for a, b in zip(after[cpu], before[cpu])]
            total = sum(delta)
            r[cpu + "_busy"] = 1 - (delta[3] + delta[4]) / total if total > 0 else None
            r[cpu + "_softirq"] = delta[6] / total if total > 0 else None
    m = re.search(r"# server-counters: before (\d+) (\d+) after (\d+) (\d+) wall ([\d.]+) ([\d.]+) clk_tck (\d+)", text)
    if m:
        ticks = int(m.group(3)) - int(m.group(1))
        wall = float(m.group(6)) - float(m.group(5))
        r["server_cpu_share"] = ticks / int(m.group(7)) / wall if wall > 0 else None
    # wrk's own CPU share: `times` in the subshell around it (children's user + system)
    m = re.search(r"# client-times.*\n.*\n\s*(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s", text)
    wm = re.search(r"wall ([\d.]+) ([\d.]+) clk_tck", text)
    if m and wm:
        cpu = int(m.group(1)) * 60 + float(m.group(2)) + int(m.group(3)) * 60 + float(m.group(4))
        wall = float(wm.group(2)) - float(wm.group(1))
        r["wrk_cpu_share"] = cpu / wall if wall > 0 else None
    # How long wrk was runnable but waited for its core (the attacker shares it).
    m = re.search(r"# wrk-schedstat[^:]*: (\d+) (\d+)", text)
    if m and wm:
        wall = float(wm.group(2)) - float(wm.group(1))
        r["wrk_runq_wait_share"] = int(m.group(2)) / 1e9 / wall if wall > 0 else None
    if r["rps"] is None:
        r["raw_tail"] = text[-400:]
    return r


def parse_samples(path, t0, t1):
    """Peaks of RSS / threads / descriptors between t0 and t1 (epoch seconds)."""
    rows = []
    if os.path.exists(path):
        for line in open(path):
            p = line.split()
            if len(p) == 4:
                try:
                    rows.append((float(p[0]), int(p[1]), int(p[2]), int(p[3])))
                except ValueError:
                    pass
    inside = [r for r in rows if t0 is None or t1 is None or t0 - 0.01 <= r[0] <= t1 + 0.6]
    if not inside:
        return {"n": 0}
    rss = [r[1] for r in inside]
    last = inside[-1]
    return {
        "n": len(inside),
        "rss_peak_kb": max(rss),
        "rss_last_kb": last[1],
        "threads_peak": max(r[2] for r in inside),
        "fds_peak": max(r[3] for r in inside),
        "series": [[round(r[0] - (t0 or inside[0][0]), 2), r[1], r[2], r[3]] for r in inside],
    }


def parse_slowhttptest(out_path, csv_path):
    r = {}
    text = open(out_path, errors="replace").read() if os.path.exists(out_path) else ""
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)  # its colours
    r["output_tail"] = text[-600:]
    blocks = list(re.finditer(r"slow HTTP test status on (\d+)\w* second", text))
    if blocks:
        last = text[blocks[-1].start():]
        r["status_second"] = int(blocks[-1].group(1))
        for key in ("initializing", "pending", "connected", "error", "closed"):
            m = re.search(r"^\s*%s:\s+(\d+)" % key, last, re.M)
            r["conn_error" if key == "error" else key] = int(m.group(1)) if m else None
        m = re.search(r"^\s*service available:\s+(\S+)", last, re.M)
        r["service_available"] = m.group(1) if m else None
    m = re.search(r"Exit status:\s*(.*)", text)
    r["exit_status"] = m.group(1).strip() if m else None
    m = re.search(r"test type:\s*(.*)", text)
    r["test_type"] = m.group(1).strip() if m else None
    # The CSV: one row per second (seconds, closed, pending, connected, service available).
    series = []
    if os.path.exists(csv_path):
        lines = [l.strip() for l in open(csv_path, errors="replace") if l.strip()]
        if lines:
            head = [h.strip().lower() for h in lines[0].split(",")]

            def col(name):
                return next((i for i, h in enumerate(head) if name in h), None)

            ci = {k: col(k) for k in ("second", "closed", "pending", "connected", "service")}
            for l in lines[1:]:
                p = [x.strip() for x in l.split(",")]
                row = {}
                for k, i in ci.items():
                    if i is not None and i < len(p):
                        v = num(p[i], int)
                        if v is None and k == "service":
                            v = {"yes": 1, "no": 0}.get(p[i].lower())
                        row[k] = v
                series.append(row)
            r["csv_header"] = head
    r["series"] = series
    closed = [(s.get("second"), s.get("closed") or 0) for s in series if s.get("second") is not None]
    if closed:
        total = max(c for _, c in closed)
        r["closed_max"] = total
        r["last_second"] = max(t for t, _ in closed)
        r["first_close_s"] = next((t for t, c in closed if c > 0), None)
        r["connected_max"] = max((s.get("connected") or 0) for s in series)
        svc = [s.get("service") for s in series if s.get("service") is not None]
        r["service_unavailable_s"] = sum(1 for v in svc if v == 0) if svc else None
    return r


def parse_tool(path):
    if not os.path.exists(path):
        return {"error": "no output"}
    lines = [l for l in open(path, errors="replace").read().splitlines() if l.strip()]
    if not lines:
        return {"error": "no output"}
    try:
        return json.loads(lines[-1])
    except ValueError as e:
        return {"error": "unreadable output: %s" % e, "raw": lines[-1][:300]}


def goal(case, meta):
    why = []
    base, att = case.get("wrk_base") or {}, case.get("wrk_attack") or {}
    ratio = case.get("ratio")
    g_ratio = float(meta.get("goal_ratio", 0.9))
    g_p99 = float(meta.get("goal_p99_ms", 50))
    g_rss = float(meta.get("goal_rss_growth_mb", 100)) * 1024
    if ratio is None:
        why.append("no throughput figure")
    elif ratio < g_ratio:
        why.append("throughput %.0f%%" % (100 * ratio))
    p99 = att.get("p99_ms")
    if p99 is None:
        why.append("no p99")
    elif p99 >= g_p99:
        why.append("p99 %s" % fmt_ms(p99))
    if att.get("errors"):
        why.append("%d wrk errors" % att["errors"])
    growth = case.get("rss_growth_kb")
    if growth is None:
        why.append("no memory samples")
    elif growth > g_rss:
        why.append("RSS +%s" % fmt_mb(growth))
    if not case.get("alive_after", True):
        why.append("server died")
    return {"met": not why, "why": why}


def collect(scratch):
    meta = read_env(os.path.join(scratch, "meta.env"))
    cases = []
    cdir = os.path.join(scratch, "cases")
    order = meta.get("scenarios", "").split()
    servers = meta.get("servers", "").split()
    names = []
    if os.path.isdir(cdir):
        names = sorted(os.listdir(cdir), key=lambda n: (
            order.index(n.rsplit("-", 1)[0]) if n.rsplit("-", 1)[0] in order else 99,
            servers.index(n.rsplit("-", 1)[1]) if n.rsplit("-", 1)[1] in servers else 99))
    for name in names:
        d = os.path.join(cdir, name)
        env = read_env(os.path.join(d, "case.env"))
        c = {"scenario": env.get("scenario"), "server": env.get("server"), "mode": env.get("mode")}
        if env.get("fail"):
            c["fail"] = env["fail"]
            cases.append(c)
            continue
        for k in ("port", "wrk_port", "wrk_path", "attack_path", "attack_kind", "attack_cmd",
                  "ready_line"):
            c[k] = env.get(k)
        t = {k: num(env.get(k)) for k in ("t_attack_start", "t_ready", "t_wrk_attack_start",
                                            "t_wrk_attack_end", "t_attack_end")}
        if t["t_attack_start"] is not None:
            c["ready_after_s"] = (t["t_ready"] or 0) - t["t_attack_start"]
            c["attack_s"] = (t["t_attack_end"] or 0) - t["t_attack_start"]
            c["wrk_attack_from_s"] = (t["t_wrk_attack_start"] or 0) - t["t_attack_start"]
            c["wrk_attack_to_s"] = (t["t_wrk_attack_end"] or 0) - t["t_attack_start"]
        c["rss_before_kb"] = num(env.get("rss_before_kb"), int)
        c["threads_before"] = num(env.get("threads_before"), int)
        c["fds_before"] = num(env.get("fds_before"), int)
        c["alive_after"] = env.get("alive_after") == "1"
        c["listen_overflows"] = num(env.get("listen_overflows"), int)
        c["wrk_base"] = parse_wrk(os.path.join(d, "wrk-base.txt"))
        c["wrk_attack"] = parse_wrk(os.path.join(d, "wrk-attack.txt"))
        c["samples"] = parse_samples(os.path.join(d, "samples.txt"), t["t_attack_start"], t["t_attack_end"])
        b = (c["wrk_base"] or {}).get("rps")
        a = (c["wrk_attack"] or {}).get("rps")
        c["ratio"] = a / b if a is not None and b else None
        if c["samples"].get("n") and c["rss_before_kb"] is not None:
            c["rss_growth_kb"] = c["samples"]["rss_peak_kb"] - c["rss_before_kb"]
        if env.get("attack_kind") == "slowhttptest":
            c["slow_conns"] = num(meta.get("slow_conns"), int)
            c["attack"] = parse_slowhttptest(os.path.join(d, "slowhttptest.out"), os.path.join(d, "slowhttptest.csv"))
        else:
            c["attack"] = parse_tool(os.path.join(d, "attack.json"))
            err = os.path.join(d, "attack.err")
            if os.path.exists(err):
                c["attack_stderr_tail"] = open(err, errors="replace").read()[-400:]
        c["goal"] = goal(c, meta)
        # wrk lost its core to the attacker: runnable but waiting for CPU 1 a fifth of the time
        # or more, and at least 10 points more than in its baseline run.
        bq = (c["wrk_base"] or {}).get("wrk_runq_wait_share")
        aq = (c["wrk_attack"] or {}).get("wrk_runq_wait_share")
        c["wrk_starved"] = bool(aq is not None and aq >= 0.2 and aq >= (bq or 0) + 0.1)
        cases.append(c)
    return {"meta": meta, "cases": cases}


# ------------------------------------------------------------------------------ render


def fmt_rps(x):
    return "—" if x is None else "{:,.0f}".format(x)


def fmt_ms(x):
    if x is None:
        return "—"
    if x >= 1000:
        return "%.2f s" % (x / 1000)
    if x >= 10:
        return "%.0f ms" % x
    return "%.2f ms" % x


def fmt_mb(kb):
    return "—" if kb is None else "%.1f MiB" % (kb / 1024)


def fmt_s(ms):
    return "—" if ms is None else "%.1f s" % (ms / 1000) if ms >= 1000 else "%.0f ms" % ms


def spread_text(sp, unit="ms"):
    if not sp:
        return None
    if unit == "ms":
        return "%s / %s / %s" % (fmt_s(sp["first"]), fmt_s(sp["median"]), fmt_s(sp["last"]))
    return "%s / %s / %s" % (sp["first"], sp["median"], sp["last"])


def intensity(c):
    """What the attacker achieved, in a few words."""
    a = c.get("attack") or {}
    if "error" in a:
        return "no result (%s)" % a["error"]
    sc = c["scenario"]
    if c.get("attack_kind") == "slowhttptest":
        return "%s of %s connected (peak), %s errors" % (
            a.get("connected_max", a.get("connected", "?")), c.get("slow_conns", "?"), a.get("conn_error", "?"))
    if sc == "drip":
        return "%s conns, %s B sent, %s heads, %s answered" % (
            a.get("conns"), a.get("bytes_sent"), a.get("heads_sent"), a.get("responses"))
    if sc.startswith("flood_"):
        return "%s of %s connected in %s" % (a.get("connected"), a.get("conns"), fmt_s(a.get("connect_ms")))
    if sc.startswith("h2_"):
        return "%s conns: %s %s (%s/s), %s connections" % (
            a.get("conns"), "{:,}".format(a.get("sent") or 0), (a.get("sent_unit") or "").split(" ")[0],
            "{:,.0f}".format(float(a.get("sent_per_s") or 0)), a.get("connections"))
    return "?"


def cutoff(c):
    """When and how the attackers were cut off, in a few words."""
    a = c.get("attack") or {}
    if "error" in a:
        return "—"
    sc = c["scenario"]
    if c.get("attack_kind") == "slowhttptest":
        closed = a.get("closed_max", a.get("closed"))
        if not closed:
            return "none closed in %s s (%s)" % (a.get("last_second", a.get("status_second", "?")), a.get("exit_status") or "?")
        return "%s closed, the first at second %s (%s)" % (closed, a.get("first_close_s"), a.get("exit_status") or "?")
    if sc == "drip":
        n = a.get("server_closes") or 0
        other = a.get("status_other") or 0
        s = "%d closes" % n if n else "not cut off"
        if n:
            s += " (lifetime %s)" % spread_text(a.get("close_after_ms"))
        if other:
            s += "; %d non-2xx (%s)" % (other, a.get("first_other_status"))
        return s
    if sc.startswith("flood_"):
        n = a.get("closed_by_server") or 0
        if not n:
            return "none closed in %s" % fmt_s(a.get("elapsed_ms"))
        s = "%d closed at %s (first/median/last)" % (n, spread_text(a.get("close_at_ms")))
        if a.get("server_sent_unasked"):
            s += "; %d got '%s'" % (a["server_sent_unasked"], a.get("first_server_line"))
        return s
    if sc.startswith("h2_"):
        ended = a.get("ended") or {}
        fg = a.get("first_goaway")
        parts = []
        if a.get("goaway_codes"):
            parts.append("GOAWAY " + ", ".join("%s ×%d" % kv for kv in a["goaway_codes"].items()))
        for k in ("server_close", "reset"):
            if ended.get(k):
                parts.append("%s ×%d" % (k.replace("_", " "), ended[k]))
        if not parts:
            return "not cut off (%s)" % ", ".join("%s ×%d" % kv for kv in ended.items())
        sp = a.get("cut_off_after_ms")
        if sp:
            parts.append("after %s" % spread_text(sp))
        if fg and fg.get("debug"):
            parts.append("'%s'" % fg["debug"][:60])
        return "; ".join(parts)
    return "?"


def render(results_path, out_path):
    res = json.load(open(results_path))
    meta, cases = res["meta"], res["cases"]
    w = []
    quick = meta.get("quick") == "1"
    w.append("# falconet under attack: side by side with nginx\n")
    if quick:
        w.append("> **SMOKE RUN (QUICK=1, %s s per wrk run).** These figures check that the script works; "
                 "they are not measurements to quote. The maintainer's full run replaces this file.\n" % meta.get("duration"))
    elif meta.get("partial") == "1":
        w.append("> Partial run (scenarios: %s; servers: %s).\n" % (meta.get("scenarios"), meta.get("servers")))
    waits = sorted(q for q in ((c.get("wrk_base") or {}).get("wrk_runq_wait_share") for c in cases) if q is not None)
    if waits and waits[len(waits) // 2] > 0.1:
        w.append("> **The machine was not idle:** even in the baseline runs, without an attacker, wrk was "
                 "runnable but waiting for its core %.0f%% of the time (median; /proc schedstat), so other "
                 "processes shared CPU 1 and the figures carry their noise.\n" % (100 * waits[len(waits) // 2]))
    w.append("Generated by `bench/attacks.sh` on %s; rendered by `bench/attacks_report.py` from `attacks.json` "
             "(raw output in the run's scratch dir).\n" % meta.get("date_utc"))
    w.append("## Machine and versions\n")
    w.append("- CPU: %s, %s cores; kernel %s; memory %s" % (meta.get("cpu_model"), meta.get("cores"), meta.get("kernel"), meta.get("mem_total")))
    dirty = meta.get("falconet_dirty_files", "0")
    w.append("- falconet: commit `%s`%s; %s" % (meta.get("falconet_commit", "?")[:12],
             "" if dirty in ("0", "") else " (+%s uncommitted files outside bench/)" % dirty, meta.get("rustc")))
    w.append("- %s; %s; %s" % (meta.get("nginx"), meta.get("wrk"), meta.get("slowhttptest") or "slowhttptest not used"))
    w.append("- Pinning: %s; attackers at nice %s; RLIMIT_NOFILE %s" % (meta.get("pinning"), meta.get("attack_nice"), meta.get("nofile")))
    w.append("- Load average at start / end: %s / %s\n" % (meta.get("loadavg_start"), meta.get("loadavg_end")))
    w.append("## Method\n")
    w.append(
        "Per scenario and server: a fresh server, %s s of wrk warm-up, a baseline wrk run of %s s "
        "(`wrk -t1 -c%s -d%ss --timeout 5s --latency`, HTTP/1.1 keep-alive `GET /`: the normal clients), "
        "then the attacker starts; once it is established (the attack tool's `ready` line, or "
        "slowhttptest's ramp of %s s), the same wrk run again while it goes on%s, then the attacker is "
        "stopped and the server too. Ratio = attacked / baseline requests/s. RSS, threads and open "
        "descriptors of the server (nginx: master + workers) are sampled every 0.5 s from /proc from "
        "the attack's start to its end; \"RSS\" shows the value before the attack → the peak during it."
        % (meta.get("warmup"), meta.get("duration"), meta.get("wrk_conns"), meta.get("duration"),
           meta.get("slow_ramp"), "" if meta.get("attack_extra") in ("0", None) else " (and %s s after)" % meta.get("attack_extra")))
    w.append("")
    w.append(
        "Servers: falconet's examples with its default settings except `Falconet:Workers` = %s (as "
        "bench/run.sh): `hello` (HTTP/1.1 and h2c with prior knowledge on one port), `echo` for the "
        "slow POST (it reads the whole body before its handler runs), the `falconet` binary with "
        "`--root` for the slow read. nginx as in run.sh (`worker_processes %s`, `access_log off`, "
        "`worker_connections` raised to the attack's connections + 1,100 where above 4,096), "
        "otherwise its defaults." % (meta.get("falconet_workers"), meta.get("peer_threads")))
    w.append("")
    w.append(
        "The attackers and the sampler share CPU 1 with wrk, at nice %s: they get mostly the CPU time "
        "wrk leaves, so that a drop in the normal clients' figures is the server's doing rather than wrk "
        "losing its core. The per-scenario notes give both cores' busy share, wrk's own CPU share and "
        "how long wrk was runnable but waiting for its core (/proc schedstat), in the baseline and the "
        "attacked run; a ratio marked † is one where the attacker took wrk's CPU. The Attack column says what "
        "the attacker achieved with that CPU; its `sent` counts what the kernel accepted on the "
        "socket, not what the server processed." % meta.get("attack_nice"))
    w.append("")
    w.append("## Goal\n")
    w.append(
        "Per row: the normal clients keep ≥ %.0f%% of their baseline requests/s, their p99 stays under "
        "%s ms, the attacked wrk run has no errors (socket errors or non-2xx), the server's RSS grows by "
        "at most %s MiB during the attack and it is still running at the end. **met** only if all hold; "
        "otherwise what failed.\n" % (100 * float(meta.get("goal_ratio", 0.9)), meta.get("goal_p99_ms"), meta.get("goal_rss_growth_mb")))
    w.append("## Results\n")
    w.append("| Scenario | Server | Base req/s | Attacked req/s | Ratio | p99 base | p99 attacked | wrk errors | RSS before → peak | Threads peak | Attack | Cut off | Goal |")
    w.append("|---|---|---:|---:|---:|---:|---:|---:|---|---:|---|---|---|")
    for c in cases:
        if c.get("fail"):
            w.append("| %s | %s | failed: %s | | | | | | | | | | not run |" % (c["scenario"], c["server"], c["fail"].replace("|", "/")))
            continue
        b, a = c.get("wrk_base") or {}, c.get("wrk_attack") or {}
        s = c.get("samples") or {}
        g = c.get("goal") or {}
        w.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s → %s | %s | %s | %s | %s |" % (
            c["scenario"], c["server"], fmt_rps(b.get("rps")), fmt_rps(a.get("rps")),
            "—" if c.get("ratio") is None else "%.2f%s" % (c["ratio"], " †" if c.get("wrk_starved") else ""),
            fmt_ms(b.get("p99_ms")), fmt_ms(a.get("p99_ms")), a.get("errors", "—"),
            fmt_mb(c.get("rss_before_kb")), fmt_mb(s.get("rss_peak_kb")), s.get("threads_peak", "—"),
            intensity(c).replace("|", "/"), cutoff(c).replace("|", "/"),
            "**met**" if g.get("met") else "not met: " + ", ".join(g.get("why", []))))
    if any(c.get("wrk_starved") for c in cases):
        w.append("")
        w.append("† During the attacked run wrk was runnable but waiting for its core (CPU 1) for at least "
                 "a fifth of the time and 10 points more than in its baseline (from /proc schedstat): the "
                 "attacker took wrk's CPU, despite its nice level (e.g. the kernel's loopback TCP work for "
                 "the attack traffic, done on the sending core). There the ratio mixes the server's "
                 "slowdown with the client's.")
    w.append("")
    w.append("## Scenarios\n")
    fmt_meta = {k: meta.get(k) for k in ("slow_conns", "slow_rate", "drip_conns", "drip_interval_ms",
                                          "flood_conns", "h2_attack_conns")}
    for sc in meta.get("scenarios", "").split():
        w.append("### %s\n" % sc)
        w.append(SCENARIO_TEXT.get(sc, "").format(**fmt_meta) + "\n")
        for c in [c for c in cases if c["scenario"] == sc]:
            if c.get("fail"):
                w.append("- **%s**: not run: %s" % (c["server"], c["fail"]))
                continue
            a = c.get("attack") or {}
            b, at = c.get("wrk_base") or {}, c.get("wrk_attack") or {}
            s = c.get("samples") or {}
            line = "- **%s**: `%s` (port %s; wrk on %s%s). " % (c["server"], c.get("attack_cmd"), c.get("port"),
                                                               c.get("wrk_port"), c.get("wrk_path"))
            line += "Ready after %.1f s (%s); attacked wrk ran from %.1f to %.1f s into the attack. " % (
                c.get("ready_after_s") or 0, c.get("ready_line"), c.get("wrk_attack_from_s") or 0, c.get("wrk_attack_to_s") or 0)
            line += ("Cores busy during the attacked run: CPU 0 (server) %s, CPU 1 (wrk + attacker) %s (baseline: %s / %s); "
                     "CPU 1 in softirq %s (baseline %s); wrk's own CPU %s (baseline %s), runnable but waiting "
                     "for its core %s (baseline %s); server CPU %s (baseline %s). ") % (
                pct(at.get("cpu0_busy")), pct(at.get("cpu1_busy")), pct(b.get("cpu0_busy")), pct(b.get("cpu1_busy")),
                pct(at.get("cpu1_softirq")), pct(b.get("cpu1_softirq")),
                pct(at.get("wrk_cpu_share")), pct(b.get("wrk_cpu_share")),
                pct(at.get("wrk_runq_wait_share")), pct(b.get("wrk_runq_wait_share")),
                pct(at.get("server_cpu_share")), pct(b.get("server_cpu_share")))
            line += "Threads %s → %s, descriptors %s → %s, listen overflows %s. " % (
                c.get("threads_before"), s.get("threads_peak"), c.get("fds_before"), s.get("fds_peak"), c.get("listen_overflows"))
            if at.get("errors"):
                line += "wrk errors while attacked: %s, non-2xx %s. " % (at.get("socket_errors"), at.get("non_2xx"))
            if not c.get("alive_after"):
                line += "**The server was no longer running after the attack.** "
            w.append(line)
            w.append("  - Attacker: " + attacker_detail(c, a))
        w.append("")
    w.append("## Notes\n")
    w.append(
        "- Slow POST on nginx: `return 200` alone does not read a request body before answering (nginx "
        "answers, then reads and discards the body while lingering), so it would not be the same test. "
        "`location = /upload { proxy_pass http://127.0.0.1:UPSTREAM; }` with nginx's default "
        "`proxy_request_buffering on` makes nginx read the whole body (into `client_body_buffer_size`, "
        "then a temp file) before it opens the upstream connection, like falconet's buffered `echo`; "
        "the upstream is a second server block of the same nginx returning `Hello, World!`. nginx's "
        "guard is `client_body_timeout` (60 s between two reads); falconet's is MinRequestBodyDataRate "
        "(240 B/s after a 5 s grace period, 408).")
    w.append(
        "- HTTP/2 on nginx: the h2c listener (`listen ... http2`, nginx 1.22) cannot speak HTTP/1.1, so "
        "wrk uses a second, plain server block. The h2c block keeps nginx's defaults: "
        "`keepalive_requests` 1000 (which also bounds the streams of one HTTP/2 connection) is not "
        "raised there, unlike run.sh's 1,000,000 for wrk's plain connections.")
    w.append(
        "- HTTP/2 attackers reconnect whenever the server sends GOAWAY or closes, as a real attacker "
        "would, so a per-connection limit alone does not end the attack: the Cut off column gives how "
        "connections ended and after how long (first / median / last connection lifetime).")
    w.append(
        "- PING flood: the attacker never reads while flooding, so the server's ACKs fill both socket "
        "buffers first (several MB on loopback); a GOAWAY behind them is found only in the drain after "
        "the connection failed, and its time is the time the failure was seen.")
    w.append(
        "- Timeouts longer than the attack window are not seen: falconet's RequestHeadersTimeout (30 s) "
        "and nginx's client_header_timeout / client_body_timeout (60 s) end slowloris and byte-flood "
        "connections only after that; `ATTACK_EXTRA=40` keeps the attack going after the measurement "
        "to show them.")
    w.append(
        "- Flood close times come from a non-blocking read sweep over all connections every 250 ms "
        "(more than 1,000 connections), so they are that coarse.")
    w.append("")
    open(out_path, "w").write("\n".join(w) + "\n")
    # A compact summary for the terminal (attacks.sh shows it at the end).
    for c in cases:
        if c.get("fail"):
            print("%-16s %-9s not run: %s" % (c["scenario"], c["server"], c["fail"]))
            continue
        g = c.get("goal") or {}
        print("%-16s %-9s ratio %s  p99 %s -> %s  RSS +%s  %s" % (
            c["scenario"], c["server"], "—" if c.get("ratio") is None else "%.2f" % c["ratio"],
            fmt_ms((c.get("wrk_base") or {}).get("p99_ms")), fmt_ms((c.get("wrk_attack") or {}).get("p99_ms")),
            fmt_mb(c.get("rss_growth_kb")), "met" if g.get("met") else "NOT MET (" + ", ".join(g.get("why", [])) + ")"))


def pct(x):
    return "—" if x is None else "%.0f%%" % (100 * x)


def attacker_detail(c, a):
    if "error" in a:
        return "no result: %s %s" % (a.get("error"), (c.get("attack_stderr_tail") or a.get("output_tail") or "")[-200:].replace("\n", " "))
    if c.get("attack_kind") == "slowhttptest":
        return ("slowhttptest (%s): at second %s: connected %s, pending %s, closed %s, error %s, service available %s; "
                "peak connected %s; first close at second %s; exit: %s." % (
                    a.get("test_type"), a.get("status_second"), a.get("connected"), a.get("pending"), a.get("closed"),
                    a.get("conn_error"), a.get("service_available"), a.get("connected_max"), a.get("first_close_s"),
                    a.get("exit_status")))
    keys = [k for k in a if k not in ("mode", "target", "secs")]
    return ", ".join("%s %s" % (k, json.dumps(a[k])) for k in keys)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "collect":
        json.dump(collect(sys.argv[2]), sys.stdout, indent=1)
        sys.stdout.write("\n")
    elif len(sys.argv) == 4 and sys.argv[1] == "render":
        render(sys.argv[2], sys.argv[3])
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
