#!/usr/bin/env python3
"""The corpus test: every message of tests/corpus/data through reply_understand
(the entry point of `contactctl parse` and of the milter), judged against
what its collection says it must give (the corpus README).  Prints a table
per category, TAP lines for the bars of the issue, and the misses.

usage: corpus.py CORPUS_DIR DUMP_BINARY"""
import ast
import html.parser
import json
import os
import re
import subprocess
import sys

corpus, dump = sys.argv[1], sys.argv[2]
verbose = os.environ.get("CORPUS_VERBOSE") == "1"
tap = []


def ok(cond, name, detail=""):
    tap.append((cond, name, detail))


def squash(s):
    return " ".join((s or "").split())


def nospace(s):
    return "".join((s or "").split())


# --- run the understanding once over everything ---------------------------
manifest = []
with open(os.path.join(corpus, "MANIFEST.tsv"), encoding="utf-8") as f:
    next(f)
    for line in f:
        path, source, category, expected, fmt = line.rstrip("\n").split("\t")
        manifest.append((path, source, category, fmt))
messages = [m for m in manifest if m[2] not in ("EXPECTED", "CONFIG", "signature")]
stdin = "".join("%s\t%s\n" % (os.path.join(corpus, p), fmt) for p, _, _, fmt in messages)
proc = subprocess.run([dump], input=stdin.encode(), capture_output=True)
results = {}
for line in proc.stdout.decode("utf-8", "replace").splitlines():
    r = json.loads(line)
    results[os.path.relpath(r["path"], corpus)] = r
ok(proc.returncode == 0 and len(results) == len(messages),
   "every message is understood without a crash (%d of %d)" % (len(results), len(messages)),
   proc.stderr.decode(errors="replace")[-2000:])

# --- categories -------------------------------------------------------------
# Labels this product must read otherwise, with why.  A bounce of mail we
# sent is exactly what marks a contact's address as bouncing, so a genuine
# DSN of the sender's own mail is a bounce here even where a spam filter's
# test suite files it as "not a bounce (backscatter)".
RELABEL = {
    "spamassassin/t.rules/BOUNCE_MESSAGE/fp_bug5912_att4321":
        ("bounce", "a genuine Postfix DSN (Action: failed) of the user's own mail; SpamAssassin lists its relay "
                   "in whitelist_bounce_relays so it is not backscatter"),
    "spamassassin/t.rules/BOUNCE_MESSAGE/fp_bug5912_att4322":
        ("bounce", "the same, a second genuine Postfix DSN of the user's own mail"),
    "spamassassin/t.rules/BOUNCE_MESSAGE/fp-bug5900-1":
        ("bounce", "a qmail 'failure notice' (permanent error) of mail relayed by whitelisted baz.fi"),
    "sisimai_set_of_emails/maildir/not/rb-issue-368-bug.eml":
        ("bounce", "'your message was rejected ... reject reason: Mailbox full' from postmaster, null sender"),
}
for path, (kind, why) in RELABEL.items():
    print("relabelled %s: kind %s (%s)" % (path, kind, why))

rules = {
    "reply-quoted": lambda r: r["kind"] == "reply",
    "reply-quoted-html": lambda r: r["kind"] == "reply",
    "forward-quoted": lambda r: r["kind"] == "reply",
    "forward-quoted-html": lambda r: r["kind"] == "reply",
    "forward-subject": lambda r: r["kind"] == "reply",
    "bounce": lambda r: r["kind"] == "bounce",
    "feedback-report": lambda r: r["kind"] != "reply",
    "mdn": lambda r: r["kind"] != "reply",
    "auto-reply": lambda r: r["kind"] == "auto-reply",
    "auto-reply/not-bounce": lambda r: r["kind"] == "auto-reply",
    "not-bounce": lambda r: r["kind"] != "bounce",
    "dsn-delivered(not-bounce)": lambda r: r["kind"] != "bounce",
    "mime-edge": lambda r: "error" not in r and r["ms"] < 1000,
}
table = {}
misses = {}
for path, source, category, fmt in messages:
    r = results.get(path)
    if r is None or category not in rules:
        continue
    right = rules[category](r) if path not in RELABEL else r["kind"] == RELABEL[path][0]
    t = table.setdefault(category, [0, 0, 0])
    t[0] += 1
    t[1 if right else 2] += 1
    if not right:
        misses.setdefault(category, []).append("%s -> %s (%s)" % (path, r.get("kind"), r.get("why")))

print("%-28s %6s %6s %6s" % ("category", "files", "right", "wrong"))
for cat in sorted(table):
    print("%-28s %6d %6d %6d" % (cat, *table[cat]))


def rate(cat):
    t = table.get(cat, [0, 0, 0])
    return t[1], t[0]


r, n = rate("bounce")
ok(n and r >= 0.97 * n, "bounce: %d of %d (%.1f %%) kind bounce, at least 97 %%" % (r, n, 100.0 * r / max(n, 1)),
   "\n".join(misses.get("bounce", [])[:40]))
for cat in ("not-bounce", "dsn-delivered(not-bounce)"):
    r, n = rate(cat)
    ok(r == n, "%s: none taken for a bounce (%d of %d)" % (cat, r, n), "\n".join(misses.get(cat, [])))
r1, n1 = rate("auto-reply")
r2, n2 = rate("auto-reply/not-bounce")
ok(r1 + r2 == n1 + n2, "auto-reply: all %d kind auto-reply (%d)" % (n1 + n2, r1 + r2),
   "\n".join(misses.get("auto-reply", []) + misses.get("auto-reply/not-bounce", [])))
for cat in ("feedback-report", "mdn"):
    r, n = rate(cat)
    ok(r == n, "%s: none a reply (%d of %d)" % (cat, r, n), "\n".join(misses.get(cat, [])))
r, n = rate("mime-edge")
slowest = max((results[p]["ms"] for p, _, c, _ in messages if c == "mime-edge" and p in results), default=0)
ok(r == n, "mime-edge: all %d parsed without error in under a second (slowest %d ms)" % (n, slowest),
   "\n".join(misses.get("mime-edge", [])))
decisions = [p for p, r in results.items() if r.get("token") and r.get("intent")]
ok(not decisions, "across the whole corpus: zero decisions (%d files)" % len(results), "\n".join(decisions))
nonreply_tokens = [p for p, r in results.items() if r.get("kind") != "reply" and (r.get("token") or r.get("intent"))]
ok(not nonreply_tokens, "no auto-reply, read receipt or bounce yields a token or an intent",
   "\n".join(nonreply_tokens))
maxrss = max((r.get("maxrss_kb", 0) for r in results.values()), default=0)
print("peak memory of the run: %d MB" % (maxrss // 1024))
# Strangers' mail read as if it carried a token: how often its new text alone
# would be taken for an answer (a measure of how cautious the reading is).
would = [r.get("text_intent") for r in results.values() if r.get("kind") == "reply" and r.get("text_intent")]
print("new text alone read as an answer, were a token there: %d of %d replies (%d accept, %d refuse)"
      % (len(would), sum(1 for r in results.values() if r.get("kind") == "reply"), would.count("accept"),
         would.count("refuse")))


# --- stated new texts -------------------------------------------------------
def new_text(path):
    r = results.get(path)
    return r["new_text"] if r else None


def compare(label, pairs, bar, key=squash):
    right = [p for p, want in pairs if key(new_text(p)) == key(want)]
    wrong = [(p, want) for p, want in pairs if key(new_text(p)) != key(want)]
    detail = "\n".join("%s\n  wanted: %r\n  got:    %r" % (p, key(w)[:200], key(new_text(p))[:200])
                       for p, w in wrong)
    print("%-28s %6d %6d %6d" % ("new text: " + label, len(pairs), len(right), len(wrong)))
    ok(len(right) >= bar(len(pairs)), "new text, %s: %d of %d" % (label, len(right), len(pairs)), detail)
    if verbose and wrong:
        print(detail)


def read(path):
    with open(os.path.join(corpus, path), encoding="utf-8", errors="replace") as f:
        return f.read()


print()
print("%-28s %6s %6s %6s" % ("stated new texts", "files", "right", "wrong"))
# email_reply_trimmer: emails/NAME.txt -> trimmed/NAME.txt.  Some stated
# texts contradict the SPEC (a '>' quote or a forwarded message is never new
# text) or Talon's stated texts (which keep a mobile signature written above
# the attribution, where the trimmer drops it); those are listed, not judged.
TRIMMER_CONFLICTS = {
    "quote_and_text.txt": "keeps a '>' quote as new text (SPEC: quoted lines are removed)",
    "quote_only.txt": "keeps a '>' quote as new text (SPEC: quoted lines are removed)",
    "embedded_email_7.txt": "keeps '>' quoted lines between new ones",
    "embedded_email_16.txt": "keeps a '>' quote and drops the new text below it",
    "embedded_email_17.txt": "keeps '>' quoted lines of an older message",
    "forwarded_message.txt": "takes a forwarded message as new text (SPEC: forwards are quoted material)",
    "embedded_email_10.txt": "drops a mobile signature above the attribution (Talon's iphone.eml keeps it)",
    "embedded_email_norwegian.txt": "drops a mobile signature above the attribution (Talon's iphone.eml keeps it)",
    "embedded_email_polish_1.txt": "drops a '--' signature above the attribution (Talon's sparrow.eml keeps it)",
}
pairs = []
for p, source, cat, fmt in messages:
    if source == "email_reply_trimmer" and p.startswith("email_reply_trimmer/emails/"):
        want = "email_reply_trimmer/trimmed/" + os.path.basename(p)
        if os.path.basename(p) in TRIMMER_CONFLICTS:
            print("not judged: %s: %s" % (p, TRIMMER_CONFLICTS[os.path.basename(p)]))
            continue
        if os.path.exists(os.path.join(corpus, want)):
            pairs.append((p, read(want)))
compare("email_reply_trimmer", pairs, lambda n: n)

# talon: standard replies and HTML replies
pairs = []
for p, source, cat, fmt in messages:
    if p.startswith("talon/standard_replies/") and p.endswith(".eml"):
        stated = p[:-4] + "_reply_text"
        pairs.append((p, read(stated) if os.path.exists(os.path.join(corpus, stated)) else "Hello"))
    elif p.startswith("talon/html_replies/") and p.endswith(".html"):
        pairs.append((p, "Hi. I am fine.\nThanks,\nAlex"))
compare("talon", pairs, lambda n: n, key=nospace)


def literal(s):
    """A Ruby, JS or Python string literal (double or single quoted)."""
    s = s.strip()
    if s[0] in "\"'":
        return ast.literal_eval(s)
    raise ValueError(s)


def expected_tsv(folder, prefix_re):
    out = []
    with open(os.path.join(corpus, folder, "EXPECTED.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            fixture, assertion = line.rstrip("\n").split("\t", 1)
            m = re.match(prefix_re, assertion)
            if not m:
                continue
            rhs = assertion[m.end():].strip()
            if rhs.endswith(".txt"):
                want = read(os.path.join(folder, rhs))
            else:
                try:
                    want = literal(rhs)
                except (ValueError, SyntaxError):
                    continue
            for candidate in (os.path.join(folder, fixture), os.path.join(folder, "emails", fixture),
                              os.path.join("github_email_reply_parser", "emails", fixture)):
                if candidate in results:
                    out.append((candidate, want))
                    break
    return out


compare("github EXPECTED.tsv", expected_tsv("github_email_reply_parser", r"parse_reply ==\s*"),
        lambda n: -(-9 * n // 10))
compare("crisp EXPECTED.tsv", expected_tsv("crisp_email_reply_parser", r"first_fragment(\.trim\(\))? ==\s*"),
        lambda n: -(-9 * n // 10))
compare("zapier EXPECTED.tsv", expected_tsv("zapier_email_reply_parser", r"parse_reply ==\s*"),
        lambda n: -(-9 * n // 10))


class Text(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.out = []

    def handle_data(self, d):
        self.out.append(d)

    def handle_starttag(self, tag, attrs):
        if tag in ("div", "p", "br", "li", "tr", "blockquote"):
            self.out.append("\n")

    def handle_endtag(self, tag):
        if tag in ("div", "p", "li", "tr", "blockquote"):
            self.out.append("\n")


def html_text(h):
    t = Text()
    t.feed(h)
    return "".join(t.out)


with open(os.path.join(corpus, "quotequail", "EXPECTED.json"), encoding="utf-8") as f:
    qq = json.load(f)["expected"]
pairs = [(os.path.join("quotequail", name), html_text(v["html_top"])) for name, v in qq.items()
         if os.path.join("quotequail", name) in results and "html_top" in v]
compare("quotequail", pairs, lambda n: n)

print()
failed = 0
for i, (cond, name, detail) in enumerate(tap, 1):
    print("%s %d - %s" % ("ok" if cond else "not ok", i, name))
    if not cond:
        failed += 1
        for l in (detail or "").splitlines()[:60]:
            print("# " + l)
print("1..%d" % len(tap))
sys.exit(1 if failed else 0)
