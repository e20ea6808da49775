#!/usr/bin/env python3
"""Turns the key=value results of tests/bench/run.sh into the table and
build/bench.json (each ratio beside its target).  A row whose section did
not run (BENCH_ONLY) is shown as skipped."""
import collections
import json
import sys

got = {}
with open(sys.argv[1]) as f:
    for line in f:
        k, _, v = line.strip().partition("=")
        try:
            got[k] = float(v)
        except ValueError:
            got[k] = 0.0
# Missing figures read as 0 (a skipped section, or a tool not there yet).
res = collections.defaultdict(float, got)


def ratio(a, b):
    return round(a / b, 3) if b else 0.0


rows = []


def row(key, label, measured, target, higher_is_better, absolute, section=None):
    # target None: a figure printed for the record, with no target.
    # section: the key that its section of run.sh always writes; when it is
    # missing, the row is skipped (measured None).
    if section and section not in got:
        rows.append((key, label, None, target, higher_is_better, None, "skipped"))
        return
    met = None if target is None else measured >= target if higher_is_better else measured <= target
    rows.append((key, label, measured, target, higher_is_better, met, absolute))


def spread(k):
    """The per-round paired ratios' range, beside their median."""
    return "per round %.3f-%.3f" % (res[k + "_min"], res[k + "_max"])


# The ratios of sections 1 and 2: the median of the per-round ratios, each
# of two configurations measured in the same round (run.sh says why).
row("ordinary_vs_reference", "ordinary mail, contact-milter / reference milter (accepts at DATA)",
    round(res["ord_ratio"], 3), 0.97, True,
    "%.0f / %.0f msg/s (no milter %.0f); %s, %d rounds"
    % (res["ord_rate_cm"], res["ord_rate_ref"], res["ord_rate_none"], spread("ord_ratio"), res["ord_rounds"]),
    "ord_ratio")
row("replies_vs_readall", "replies delivered, contact-milter (outbox worker off) / reference reading all",
    round(res["rep_ratio_cmd"], 3), 0.95, True,
    "%.0f / %.0f msg/s, %s, %d rounds; %d of %d replies recorded, %d waiting mails queued"
    % (res["rep_rate_cmd"], res["rep_rate_eom"], spread("rep_ratio_cmd"), res["rep_rounds"], res["rep_recorded"],
       res["rep_sent"], res["rep_waiting_queued"]), "rep_ratio_cmd")
row("durable_floor_vs_readall", "the floor: reference that syncs a line to disk before accepting / reference reading all",
    round(res["rep_ratio_dur"], 3), None, True,
    "%.0f / %.0f msg/s, %s: what a 250 meaning \"on disk\" costs here, with no database"
    % (res["rep_rate_dur"], res["rep_rate_eom"], spread("rep_ratio_dur")), "rep_ratio_dur")
row("replies_vs_durable_floor", "replies delivered, contact-milter (outbox worker off) / that durable floor",
    round(res["rep_ratio_cmd_dur"], 3), None, True,
    "%.0f / %.0f msg/s, %s: the store's own cost above the least durable answer"
    % (res["rep_rate_cmd"], res["rep_rate_dur"], spread("rep_ratio_cmd_dur")), "rep_ratio_cmd_dur")
row("replies_discard_vs_discard", "replies discarded (default), contact-milter (worker off) / reference discarding",
    round(res["rep_ratio_cm"], 3), 0.85, True,
    "%.0f / %.0f msg/s, %s (Postfix's milter discard path caps both)"
    % (res["rep_rate_cm"], res["rep_rate_disc"], spread("rep_ratio_cm")), "rep_ratio_cm")
row("replies_with_worker_vs_readall", "replies delivered, contact-milter with its outbox worker / reference reading all",
    round(res["rep_ratio_cmw"], 3), None, True,
    "%.0f / %.0f msg/s while it sends (%.0f/s until the last follow-up sent, its nap included), %s; "
    "%d of %d replies recorded, %d follow-up mails sent; milter CPU %.2f ms per reply (worker off: %.2f)"
    % (res["rep_rate_cmw"], res["rep_rate_eom"], res["rep_rate_cmw_all"], spread("rep_ratio_cmw"),
       res["rep_w_recorded"], res["rep_w_sent"], res["rep_w_mailed"], res["rep_cpu_ms_cmw"], res["rep_cpu_ms_cmd"]),
    "rep_ratio_cmw")
row("decision_time_ms", "time per decision, follow-up mail queued, not composed (ms, %d-request store)"
    % res["dec_small_n"], round(res["dec_s_small"] * 1000, 3), None, False,
    "%.3f ms on the %d-request store; %.2f mails queued per decision"
    % (res["dec_s_big"] * 1000, res["dec_big_n"], res["dec_mails_small"]), "dec_s_small")
row("decision_with_compose_ms", "time per decision with its follow-up mail composed (ms, %d-request store)"
    % res["dec_small_n"], round(res["decc_s_small"] * 1000, 3), None, False,
    "%.3f ms on the %d-request store; compose %.3f ms per mail%s"
    % (res["decc_s_big"] * 1000, res["dec_big_n"], res["comp_s_small"] * 1000,
       "" if "comp_s_small" in got else " (bench_tool compose not available)"), "dec_s_small")
row("store_1m_vs_10k", "time per decision, %d-request store / %d-request store" % (res["dec_big_n"], res["dec_small_n"]),
    ratio(res["dec_s_big"], res["dec_s_small"]), 1.25, False,
    "%.2f / %.2f ms per durable decision (%.0f/s on the big store)"
    % (res["dec_s_big"] * 1000, res["dec_s_small"] * 1000, 1 / res["dec_s_big"] if res["dec_s_big"] else 0),
    "dec_s_small")
row("outbox_vs_smtp_source", "outbox deliver / smtp-source, same count and size, one session",
    ratio(res["out_rate"], res["src_rate"]), 0.5, True,
    "%.0f / %.0f mails/s (%d mails of %d bytes; %d sent)"
    % (res["out_rate"], res["src_rate"], res["out_n"], res["out_size"], res["out_sent"]), "out_rate")
g = res.get
row("pg_8_vs_sqlite_8", "durable decisions/s with 8 clients, PostgreSQL / SQLite (several MX hosts)",
    ratio(g("conc_rate_pg_8", 0), g("conc_rate_sqlite_8", 0)), 2.0, True,
    "PostgreSQL %.0f/s with 8, %.0f/s with 1; SQLite %.0f/s with 8, %.0f/s with 1; CPU per decision with 8 "
    "(%d cores): PostgreSQL %.3f ms, of it %.3f in the clients; SQLite %.3f ms, of it %.3f in the clients"
    % (g("conc_rate_pg_8", 0), g("conc_rate_pg_1", 0), g("conc_rate_sqlite_8", 0), g("conc_rate_sqlite_1", 0),
       g("conc_cores", 0), g("conc_busy_ms_pg_8", 0), g("conc_cpu_ms_pg_8", 0), g("conc_busy_ms_sqlite_8", 0),
       g("conc_cpu_ms_sqlite_8", 0)),
    "conc_rate_sqlite_1")
row("pg_1m_vs_10k", "PostgreSQL: time per decision, %d-request store / %d-request store"
    % (res["dec_big_n"], res["dec_small_n"]),
    ratio(g("dec_pg_s_big", 0), g("dec_pg_s_small", 0)), 1.25, False,
    "%.2f / %.2f ms per durable decision" % (g("dec_pg_s_big", 0) * 1000, g("dec_pg_s_small", 0) * 1000),
    "conc_rate_sqlite_1")
row("replies_two_mx_vs_one", "replies through two MX hosts on one PostgreSQL database / through one",
    ratio(g("rep_rate_pg_two", 0), g("rep_rate_pg_one", 0)), 1.0, True,
    "%.0f / %.0f msg/s; %d replies recorded" % (g("rep_rate_pg_two", 0), g("rep_rate_pg_one", 0),
                                                 g("rep_pg_recorded", 0)), "conc_rate_sqlite_1")
warm = res["rss_after_1000_kb"]
growth = round((res["rss_after_all_kb"] - warm) / warm, 3) if warm else 0.0
row("rss_growth", "milter RSS growth from 1,000 to %d replies (delivering, its worker sending)" % res["rss_replies"], growth, 0.10, False,
    "%.1f MB idle, %.1f MB with 50 sessions, %.1f -> %.1f MB, peak %.1f MB"
    % (res["rss_idle_kb"] / 1024, res["rss_50_sessions_kb"] / 1024, warm / 1024, res["rss_after_all_kb"] / 1024,
       res["rss_peak_kb"] / 1024), "rss_replies")
row("page_get_vs_static", "page GETs, contact-web / libmicrohttpd serving a static page of the same size",
    ratio(res["web_get_rate"], res["ref_get_rate"]), 0.5, True,
    "%.0f / %.0f pages/s (%d bytes, wrk 2 threads, 16 connections)"
    % (res["web_get_rate"], res["ref_get_rate"], res["web_page_bytes"]), "web_get_rate")
dec_rate = 1 / res["dec_s_small"] if res["dec_s_small"] else 0.0
row("page_post_rate", "decisions through the page's form a second (each a durable commit)",
    res["web_post_rate"], None, True,
    "%d posted from 8 connections, %d recorded via web; core decisions without HTTP: %.0f/s"
    % (res["web_post_n"], res["web_post_recorded"], dec_rate), "web_get_rate")

print()
print("%-82s %9s %8s %5s   %s" % ("what", "measured", "target", "met", "absolute"))
for key, label, measured, target, hib, met, absolute in rows:
    print("%-82s %9s %8s %5s   %s" % (label, "-" if measured is None else "%.3f" % measured,
                                         "-" if target is None else (">= " if hib else "<= ") + str(target),
                                         "-" if met is None else "yes" if met else "NO", absolute))
doc = {key: {"measured": measured, "target": target, "met": met} for key, _, measured, target, _, met, _ in rows}
doc["absolute"] = {k: v for k, v in sorted(res.items())}
with open(sys.argv[2], "w") as f:
    json.dump(doc, f, indent=1)
print("\nwritten to %s" % sys.argv[2])
