"""The figures: statistics, the hub log's summary, what one machine holds, and the printed reports.

The JSON a run writes holds the figures under English keys (scripts and
comparisons between runs read them); the printed report is for the
instructor and the operator, in Norwegian.
"""

from __future__ import annotations

import math
import re
import statistics
from pathlib import Path

from .klasse import ASSIGNMENT, LESSON
from .measure import GIB, MIB

# The printed names of the phases and of the parts of the hub log (the JSON keeps the keys).
PHASE_NAMES = {
    "login": "innlogging", "spawn": "start", "open": "åpne", "fetch": "hente", "answer": "svare",
    "submit": "levere", "pull": "lenken", "kernel": "kjernen", "run": "kjøre",
}
ACTIONS = {"click": "klikk", "update": "valg"}  # how an activity was answered (seminar.py)
LOG_PARTS = {"set-up": "oppsettet", "deadline": "fristen", "after the deadline": "etter fristen",
             "seminar": "seminaret", "after the seminar": "etter seminaret"}


def stats(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "max": max(values), "min": min(values)} if values else {}


def _quantile(ordered: list[float], q: float) -> float:
    """The q-quantile of sorted values, interpolated between the closest ranks (as numpy's default)."""
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def spread(values: list[float]) -> dict[str, float]:
    """How many, p50, p95, min and max (nothing when there are no values)."""
    if not values:
        return {}
    ordered = sorted(values)
    return {"n": len(ordered), "p50": _quantile(ordered, 0.5), "p95": _quantile(ordered, 0.95),
            "min": ordered[0], "max": ordered[-1]}


def mib(value: float) -> str:
    return f"{value / MIB:.0f} MiB"


def _reason(reason: str) -> str:
    """A retry's reason without the student's own names, so that equal reasons are counted together."""
    return re.sub(r"/user/[^/ ]+", "/user/<s>", re.sub(r"/spawn-pending/[^/ ]+", "/spawn-pending/<s>", reason))[:160]


def _count(items) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def hub_log_summary(path: Path, marks: dict[str, int]) -> dict:
    """The hub's, its proxy's and the servers' errors and warnings, counted by message (no names, no times).

    ``marks`` are offsets in the log where a part of the run began (e.g. the
    deadline); each part is summed up on its own, the part before the first
    mark as "set-up".
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    bounds = [("set-up", 0), *sorted(marks.items(), key=lambda kv: kv[1])]
    parts = {}
    for i, (name, start) in enumerate(bounds):
        end = bounds[i + 1][1] if i + 1 < len(bounds) else len(data)
        lines = data[start:end].decode(errors="replace").splitlines()
        errors, warnings = [], []
        for line in lines:
            level = re.match(r"\[([EWC]) [\d-]+ [\d:.]+ (\S+ \S+)\] (.*)", line)
            proxy = "[ConfigProxy]" in line and ("error" in line.lower() or "warn" in line.lower())
            if not (level or proxy):
                continue
            text = f"{level.group(2)} {level.group(3)}" if level else "ConfigProxy " + line.split("[ConfigProxy]", 1)[1]
            text = re.sub(r"\x1b\[\d+m", "", text)
            text = re.sub(r"sk[a-z][0-9a-f]{6}[a-z0-9]*", "<user>", text)
            text = re.sub(r"\d+(\.\d+)?(ms|s)\b", "<t>", text)
            (warnings if level and level.group(1) == "W" else errors).append(text.strip()[:200])
        parts[name] = {"lines": len(lines), "errors": _count(errors), "warnings": _count(warnings)}
    return parts


# --- Capacity -----------------------------------------------------------------------------


def capacity(result: dict, reserve_gib: float) -> dict:
    """How many students one machine of this size holds, by memory (PSS) with a reserve, and the CPU limit."""
    mem = result.get("memory", {})
    total = result["machine"]["ram_gib"] * GIB
    usable = total - reserve_gib * GIB
    out: dict = {"reserve_gib": reserve_gib, "ram_gib": result["machine"]["ram_gib"]}
    if mem.get("server"):
        idle = mem["server"]["pss"]["median"]
        out["per_idle_student_mib"] = idle / MIB
        out["idle_students"] = int(usable // idle)
    if mem.get("server_with_kernel"):
        working = mem["server_with_kernel"]["pss"]
        out["per_working_student_mib"] = working / MIB
        out["working_students"] = int(usable // working)
    d = result["deadline"]
    out["spawns_per_minute"] = d.get("spawns_per_minute")
    cpu = result.get("cpu", {}).get("per_student_s")
    if cpu:
        out["cpu_s_per_student"] = cpu
        out["students_per_minute_by_cpu"] = (result["machine"]["cores"] or 1) * 60 / cpu
    return out


# --- The printed reports ---------------------------------------------------------------------


def _retries(d: dict) -> None:
    for reason, count in list(d["retry_reasons"].items())[:10]:
        print(f"  {count:4d} x {reason}")


def _hub_log(r: dict) -> None:
    for part, log in (r.get("hub_log") or {}).items():
        if not isinstance(log, dict) or "lines" not in log:
            continue
        print(f"\nhubloggen, {LOG_PARTS.get(part, part)}: {sum(log['errors'].values())} feil, "
              f"{sum(log['warnings'].values())} advarsler i {log['lines']} linjer")
        if part != "set-up":
            for text, count in [*log["errors"].items()][:8] + [*log["warnings"].items()][:8]:
                print(f"  {count:4d} x {text[:150]}")


def _load(r: dict) -> None:
    load = r["machine"]
    print(f"lastsnitt ved start {'/'.join(f'{x:.2f}' for x in load['load_at_start'])}, ved slutt "
          f"{'/'.join(f'{x:.2f}' for x in load.get('load_at_end', (0, 0, 0)))} (annet arbeid på maskinen gjør "
          "CPU-tidene usikre)")


def print_report(r: dict) -> None:
    """The deadline's report."""
    d = r["deadline"]
    print(f"\n=== Fristen: {r['n']} studenter ===")
    print(f"første forespørsel til siste innlevering: {d['first_request_to_last_submission_s']:.1f} s; "
          f"fullført av {d['completed']} av {r['n']}")
    print(f"forespørsler {d['requests']}, feilet for godt {len(d['failed_students'])}, prøvd på nytt {d['retries']} "
          f"({d['students_with_retries']} studenter måtte prøve på nytt)")
    _retries(d)
    print("fase           median     maks   (sekunder per student)")
    for phase, s in d["phases"].items():
        if s:
            print(f"  {PHASE_NAMES.get(phase, phase):<11} {s['median']:7.1f} {s['max']:7.1f}")
    if "submits_within_s" in d:
        print(f"innleveringer: alle innenfor {d['submits_within_s']:.1f} s, opptil {d['most_submits_in_one_second']} "
              "startet i samme sekund")
    if d.get("spawns_per_minute"):
        print(f"servere klare: alle {r['n']} innen {d['spawn_span_s']:.0f} s etter første startforespørsel "
              f"= {d['spawns_per_minute']:.0f} servere i minuttet")
    if "client_cpu_s" in d:
        print(f"de simulerte nettleserne (dette skriptet) brukte {d['client_cpu_s']:.0f} CPU-sekunder på samme maskin")
    if "cpu_percent_mean" in d:
        print(f"under fristen: CPU {d['cpu_percent_mean']:.0f} % av {r['machine']['cores']} kjerner i snitt, "
              f"lastsnitt (1 min) opptil {d['load1_max']:.1f}, minne i bruk opptil {d['memory_used_peak_gib']:.1f} GiB")
    m = r.get("memory")
    if m:
        print("\nminne                               RSS       USS       PSS")
        rows = [("huben", m["hub"]), ("proxyen", m["proxy"]), ("Formgrader", m["formgrader"]),
                ("PostgreSQL", m["postgresql"])]
        rows += [("én server (median)", {k: m["server"][k]["median"] for k in ("rss", "uss", "pss")}),
                 ("én server (maks)", {k: m["server"][k]["max"] for k in ("rss", "uss", "pss")})]
        if "server_with_kernel" in m:
            rows += [(f"server + kjerne (leksjon {LESSON[:2]})", m["server_with_kernel"]),
                     ("  av dette kjernen", m["kernel"])]
        rows += [(f"alle {m['servers_running']} serverne", m["servers_total"])]
        for name, v in rows:
            if v:
                print(f"  {name:<30} {mib(v['rss']):>9} {mib(v['uss']):>9} {mib(v['pss']):>9}")
        for label, key in (("før fristen", "free_before"), ("med alle servere oppe", "free_with_servers")):
            mem_line = next((line for line in r.get(key, "").splitlines() if line.startswith("Mem:")), "")
            print(f"free -m {label:<22} {mem_line}")
        print(f"minne i bruk: {m['used_before_gib']:.2f} GiB før fristen, {m['used_after_gib']:.2f} GiB med "
              f"alle servere oppe ({m['used_per_student_mib']:.0f} MiB per student ifølge `free`)")
    if "grade_seconds" in r:
        print(f"course grade {ASSIGNMENT}: {r['grade_seconds']:.0f} s for {r['n']} innleveringer "
              f"({r['grade_seconds'] / r['n']:.2f} s hver), retteprosessene opptil {r['grade_peak_rss_gib']:.2f} GiB RSS")
    c = r.get("capacity", {})
    if "working_students" in c:
        print(f"\n=== Hva én maskin som denne holder ({r['machine']['cores']} kjerner, {c['ram_gib']} GiB) ===")
        print(f"minnet, når {c['reserve_gib']:g} GiB holdes av til operativsystemet, huben, proxyen, Formgrader, "
              "PostgreSQL og rettingen:")
        print(f"  {c['working_students']} studenter som hver har en kjerne som kjører en leksjon "
              f"({c['per_working_student_mib']:.0f} MiB PSS hver)")
        print(f"  {c['idle_students']} studenter med server og uten kjerne ({c['per_idle_student_mib']:.0f} MiB PSS hver)")
    if c.get("cpu_s_per_student"):
        print(f"CPU: {c['cpu_s_per_student']:.1f} CPU-sekunder per student fra innlogging til innlevering (server, "
              f"hub, proxy); høyst {c['students_per_minute_by_cpu']:.0f} studenter i minuttet på "
              f"{r['machine']['cores']} kjerner; målt {c['spawns_per_minute'] or 0:.0f} servere startet i minuttet")
    _hub_log(r)
    ch = r.get("checks")
    if ch:
        print(f"\nkontroller: samlet inn {ch['collected']}/{ch['of']}, bare eget merke {ch['own_marker_only']}/{ch['of']}, "
              f"tidsstempel innenfor egen innlevering {ch['timestamp_in_window']}/{ch['of']} "
              f"(toleranse {ch['timestamp_tolerance_s'] * 1000:g} ms, minste margin "
              f"{(ch['timestamp_margin_min_s'] or 0) * 1000:.1f} ms), samme tid i karakterboken "
              f"{ch['gradebook_time_equal']}/{ch['of']}, full automatisk poengsum ({ch['auto_points']:g}) "
              f"{ch['graded_full_auto']}/{ch['of']}")
    _load(r)


def _seconds(s: dict) -> str:
    return f"p50 {s['p50']:.2f} s, p95 {s['p95']:.2f} s, maks {s['max']:.2f} s" if s else "ingen målinger"


def _timeline(timeline: list[dict]) -> None:
    """The machine over the seminar, in at most about a dozen steps."""
    if not timeline:
        return
    length = timeline[-1]["t_s"]
    step = max(5, math.ceil(length / 12 / 5) * 5)
    print(f"\nmaskinen over tid, per {step} s:   CPU (snitt)   lastsnitt (1 min, maks)   minne i bruk (maks)")
    start = 0
    while start <= length:
        part = [x for x in timeline if start <= x["t_s"] < start + step]
        if part:
            span = f"{start}–{start + step} s"
            print(f"  {span:<29} {statistics.mean(x['cpu_percent'] for x in part):5.0f} %"
                  f" {max(x['load1'] for x in part):18.2f} {max(x['used_gib'] for x in part):21.2f} GiB")
        start += step


def print_seminar_report(r: dict) -> None:
    """The seminar's report, with the figures set against the goals."""
    d = r["seminar"]
    when = "alle kommer samtidig" if d["window_s"] == 0 else f"ankomst spredt over {d['window_s']:g} s"
    print(f"\n=== Seminaret: {r['n']} studenter, leksjon {d['lesson']}, {when} ===")
    if d["window_s"]:
        arrivals = sorted(s["arrives_s"] for s in r.get("students", []))
        print(f"ankomstene (fast frø {d['arrival_seed']}): første {arrivals[0]:.1f} s, siste {arrivals[-1]:.1f} s "
              "etter start")
    if r.get("prestart"):
        pre = r["prestart"]
        print(f"forhåndsstart før ankomstene: {pre['started']} servere klare på {pre['seconds']:.0f} s, "
              f"{pre['at_once']} om gangen, {pre['cpu_s']:.0f} CPU-sekunder på maskinen")
    print(f"fullført av {d['completed']} av {r['n']}; første innlogging til siste tilbakemelding: "
          f"{d['first_arrival_to_last_feedback_s']:.1f} s")
    print(f"forespørsler {d['requests']}, feilet for godt {len(d['failed_students'])}, prøvd på nytt {d['retries']} "
          f"({d['students_with_retries']} studenter måtte prøve på nytt)")
    _retries(d)
    print("fase              p50      p95     maks   (sekunder per student)")
    for phase, s in d["phases"].items():
        if s:
            print(f"  {PHASE_NAMES.get(phase, phase):<11} {s['p50']:8.2f} {s['p95']:8.2f} {s['max']:8.2f}")
    print("  (lenken: leksjonslenken og nbgitpullers henting; kjernen: websocketen og de første meldingene; "
          "kjøre: alle kodecellene)")
    print(f"innlogging til første tilbakemelding: {_seconds(d['login_to_first_feedback_s'])}")
    answers = d["answer_s"]
    print(f"svar på en aktivitet, fra klikket (eller valget) til tilbakemeldingen er vist: {_seconds(answers)} "
          f"({answers.get('n', 0)} svar)")
    for a in d["per_activity_s"]:
        what = f"celle {a['cell']}: {a['activity'][:50]} ({ACTIONS.get(a['action'], a['action'])})"
        print(f"  {what:<66} p50 {a['p50']:.2f} s, maks {a['max']:.2f} s")
    g = d["goals"]
    met = g["met"]

    def verdict(ok: bool) -> str:
        return "nådd" if ok else "IKKE NÅDD"

    print(f"\nmål ({g['students']} studenter over {g['window_s']:g} s, leksjon {g['lesson'][:2]}):")
    first = d["login_to_first_feedback_s"]
    first_p95 = f"{first['p95']:.1f} s" if first else "–"
    answer_p95 = f"{answers['p95']:.2f} s" if answers else "–"
    print(f"  p95 innlogging til første tilbakemelding ≤ {g['login_to_first_feedback_p95_s']:g} s: {first_p95}, "
          f"{verdict(met['login_to_first_feedback_p95'])}")
    print(f"  p95 svar ≤ {g['answer_p95_s']:g} s: {answer_p95}, {verdict(met['answer_p95'])}")
    print(f"  studenter som feilet: {len(d['failed_students'])} (mål {g['failed_students']}), "
          f"{verdict(met['failed_students'])}")
    if not g["same_conditions"]:
        print(f"  (denne kjøringen: {r['n']} studenter over {d['window_s']:g} s, leksjon {d['lesson']}; "
              "målene gjelder vilkårene over)")
    if "client_cpu_s" in d:
        print(f"\nde simulerte nettleserne (dette skriptet) brukte {d['client_cpu_s']:.1f} CPU-sekunder på samme maskin")
    if "cpu_percent_mean" in d:
        print(f"under seminaret: CPU {d['cpu_percent_mean']:.0f} % av {r['machine']['cores']} kjerner i snitt, "
              f"lastsnitt (1 min) opptil {d['load1_max']:.1f}, minne i bruk opptil {d['memory_used_peak_gib']:.1f} GiB")
    _timeline(d.get("timeline", []))
    m = r.get("memory")
    if m:
        print(f"\nminne med alle leksjonene åpne (PSS)   median      maks   "
              f"({m['servers_running']} servere, {m['kernels_running']} kjerner)")
        for name, key in (("én server uten kjerne", "server"), ("én kjerne", "kernel"),
                          ("én server med kjernene sine", "server_with_kernel")):
            if m[key].get("pss"):
                print(f"  {name:<36} {mib(m[key]['pss']['median']):>9} {mib(m[key]['pss']['max']):>9}")
        print(f"  {'alle servere og kjerner til sammen':<36} {mib(m['servers_total']['pss']):>9}")
        print(f"  {'huben':<36} {mib(m['hub']['pss']):>9}")
        print(f"  {'proxyen':<36} {mib(m['proxy']['pss']):>9}")
        per_student = f" ({m['used_per_student_mib']:.0f} MiB per student ifølge `free`)" \
            if m.get("used_per_student_mib") is not None else ""
        print(f"minne i bruk: {m['used_before_gib']:.2f} GiB før seminaret, {m['used_after_gib']:.2f} GiB med alle "
              f"leksjonene åpne{per_student}")
    cpu = r.get("cpu")
    if cpu and cpu["student_s"]:
        print(f"CPU: {cpu['student_s']['median']:.1f} CPU-sekunder per student (server og kjerne, median; maks "
              f"{cpu['student_s']['max']:.1f}), huben {cpu['hub_s']:.1f} s, proxyen {cpu['proxy_s']:.1f} s")
    _hub_log(r)
    ch = r.get("checks")
    if ch:
        routes = r.get("routes", {})
        print(f"\nkontroller: leksjonen hentet til hjemmemappen {ch['lesson_pulled']}/{ch['of']}, "
              f"proxyruter til feil server {len(routes.get('problems', []))}")
    _load(r)
