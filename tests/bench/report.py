#!/usr/bin/env python3
"""Turns the key=value results of tests/bench/run.sh into the table and
build/bench.json (each ratio beside its target)."""
import json
import sys

res = {}
with open(sys.argv[1]) as f:
    for line in f:
        k, _, v = line.strip().partition("=")
        try:
            res[k] = float(v)
        except ValueError:
            res[k] = 0.0


def ratio(a, b):
    return round(a / b, 3) if b else 0.0


rows = []


def row(key, label, measured, target, higher_is_better, absolute):
    # target None: a figure printed for the record, with no target.
    met = None if target is None else measured >= target if higher_is_better else measured <= target
    rows.append((key, label, measured, target, higher_is_better, met, absolute))


row("ordinary_vs_reference", "ordinary mail, contact-milter / reference milter (accepts at DATA)",
    ratio(res["ord_rate_cm"], res["ord_rate_ref"]), 0.97, True,
    "%.0f / %.0f msg/s (no milter %.0f)" % (res["ord_rate_cm"], res["ord_rate_ref"], res["ord_rate_none"]))
row("replies_vs_readall", "validation replies delivered, contact-milter / reference reading all + header",
    ratio(res["rep_rate_cmd"], res["rep_rate_eom"]), 0.85, True,
    "%.0f / %.0f msg/s; %d of %d replies recorded, %d waiting mails queued"
    % (res["rep_rate_cmd"], res["rep_rate_eom"], res["rep_recorded"], res["rep_sent"], res["rep_waiting_queued"]))
row("replies_discard_vs_discard", "validation replies discarded (default), contact-milter / reference discarding",
    ratio(res["rep_rate_cm"], res["rep_rate_disc"]), 0.85, True,
    "%.0f / %.0f msg/s (Postfix's milter discard path caps both)" % (res["rep_rate_cm"], res["rep_rate_disc"]))
row("store_1m_vs_10k", "time per decision, %d-request store / %d-request store" % (res["dec_big_n"], res["dec_small_n"]),
    ratio(res["dec_s_big"], res["dec_s_small"]), 1.25, False,
    "%.2f / %.2f ms per durable decision (%.0f/s on the big store)"
    % (res["dec_s_big"] * 1000, res["dec_s_small"] * 1000, 1 / res["dec_s_big"] if res["dec_s_big"] else 0))
row("outbox_vs_smtp_source", "outbox deliver / smtp-source, same count and size, one session",
    ratio(res["out_rate"], res["src_rate"]), 0.5, True,
    "%.0f / %.0f mails/s (%d mails of %d bytes; %d sent)"
    % (res["out_rate"], res["src_rate"], res["out_n"], res["out_size"], res["out_sent"]))
g = res.get
row("pg_8_vs_sqlite_8", "durable decisions/s with 8 clients, PostgreSQL / SQLite (several MX hosts)",
    ratio(g("conc_rate_pg_8", 0), g("conc_rate_sqlite_8", 0)), 2.0, True,
    "PostgreSQL %.0f/s with 8, %.0f/s with 1; SQLite %.0f/s with 8, %.0f/s with 1"
    % (g("conc_rate_pg_8", 0), g("conc_rate_pg_1", 0), g("conc_rate_sqlite_8", 0), g("conc_rate_sqlite_1", 0)))
row("pg_1m_vs_10k", "PostgreSQL: time per decision, %d-request store / %d-request store"
    % (res["dec_big_n"], res["dec_small_n"]),
    ratio(g("dec_pg_s_big", 0), g("dec_pg_s_small", 0)), 1.25, False,
    "%.2f / %.2f ms per durable decision" % (g("dec_pg_s_big", 0) * 1000, g("dec_pg_s_small", 0) * 1000))
row("replies_two_mx_vs_one", "replies through two MX hosts on one PostgreSQL database / through one",
    ratio(g("rep_rate_pg_two", 0), g("rep_rate_pg_one", 0)), 1.0, True,
    "%.0f / %.0f msg/s; %d replies recorded" % (g("rep_rate_pg_two", 0), g("rep_rate_pg_one", 0),
                                                 g("rep_pg_recorded", 0)))
warm = res["rss_after_1000_kb"]
growth = round((res["rss_after_all_kb"] - warm) / warm, 3) if warm else 0.0
row("rss_growth", "milter RSS growth from 1,000 to %d replies" % res["rss_replies"], growth, 0.10, False,
    "%.1f MB idle, %.1f MB with 50 sessions, %.1f -> %.1f MB, peak %.1f MB"
    % (res["rss_idle_kb"] / 1024, res["rss_50_sessions_kb"] / 1024, warm / 1024, res["rss_after_all_kb"] / 1024,
       res["rss_peak_kb"] / 1024))
row("page_get_vs_static", "page GETs, contact-web / libmicrohttpd serving a static page of the same size",
    ratio(res["web_get_rate"], res["ref_get_rate"]), 0.5, True,
    "%.0f / %.0f pages/s (%d bytes, wrk 2 threads, 16 connections)"
    % (res["web_get_rate"], res["ref_get_rate"], res["web_page_bytes"]))
dec_rate = 1 / res["dec_s_small"] if res["dec_s_small"] else 0.0
row("page_post_rate", "decisions through the page's form a second (each a durable commit)",
    res["web_post_rate"], None, True,
    "%d posted from 8 connections, %d recorded via web; core decisions without HTTP: %.0f/s"
    % (res["web_post_n"], res["web_post_recorded"], dec_rate))

print()
print("%-82s %9s %8s %5s   %s" % ("what", "measured", "target", "met", "absolute"))
for key, label, measured, target, hib, met, absolute in rows:
    print("%-82s %9.3f %8s %5s   %s" % (label, measured,
                                         "-" if target is None else (">= " if hib else "<= ") + str(target),
                                         "-" if met is None else "yes" if met else "NO", absolute))
doc = {key: {"measured": measured, "target": target, "met": met} for key, _, measured, target, _, met, _ in rows}
doc["absolute"] = {k: v for k, v in sorted(res.items())}
with open(sys.argv[2], "w") as f:
    json.dump(doc, f, indent=1)
print("\nwritten to %s" % sys.argv[2])
