#!/usr/bin/env python3
"""The mail templates, config/templates/{fr,en}/KIND.{txt,html}, written
from one description so that the sixteen HTML parts share one layout (tables,
inline styles, bulletproof buttons) and the text parts one shape.  Edit here,
then run from the repository root:

    python3 tests/mails/make_templates.py config/templates

tests/cli/mails.sh checks that the templates are what this script writes.
The values ({greeting}, {the_roles}, {reason}...) are worded by
core/mail_compose.c."""
import html as H
import os
import sys

NB = "\u00a0"
OUT = sys.argv[1]

def frpunct(s):
    # French typography: no-break space before : ; ? ! and inside guillemets.
    for a, b in ((" :", NB + ":"), (" ;", NB + ";"), (" ?", NB + "?"), (" !", NB + "!"),
                 ("« ", "«" + NB), (" »", NB + "»")):
        s = s.replace(a, b)
    return s

# ---------------------------------------------------------------- words
W = {
 "fr": dict(
  sig="Le service client Téléphonie",
  why_req="Vous recevez cet e-mail car votre compte {nic} est l'un des deux contacts de la demande n° {id} de changement de contact du groupe {group}. Il est envoyé automatiquement.",
  why_notice="Vous recevez cet e-mail car un message envoyé depuis votre adresse à {validation_address} n'a pas pu être pris en compte. Il est envoyé automatiquement.",
  lbl=dict(group="Groupe", change="Changement", roles="{roles_label}", frm="De", to="À", created="Demandée le",
           expires="Expire le", before="Avant", after="Désormais", done="Effectué le", services="{services_label}",
           ended="Expirée le", closed="Close le"),
  subj="Changement de contact n° {id} pour {group} : ",
  request_no="Demande n° {id}",
  why_asker="Vous recevez cet e-mail car vous avez demandé le changement de contact n° {id} du groupe {group}. Il est envoyé automatiquement.",
  why_security="Vous recevez cet e-mail car cette adresse reçoit les signalements du service des contacts (policy.security_address). Il est envoyé automatiquement.",
 ),
 "en": dict(
  sig="Telephony customer service",
  why_req="You are receiving this e-mail because your account {nic} is one of the two contacts of contact change request #{id} for group {group}. It was sent automatically.",
  why_notice="You are receiving this e-mail because a message sent from your address to {validation_address} could not be taken into account. It was sent automatically.",
  lbl=dict(group="Group", change="Change", roles="{roles_label}", frm="From", to="To", created="Requested on",
           expires="Expires on", before="Before", after="Now", done="Done on", services="{services_label}",
           ended="Expired on", closed="Closed on"),
  subj="Contact change #{id} for {group}: ",
  request_no="Request #{id}",
  why_asker="You are receiving this e-mail because you asked for contact change #{id} of group {group}. It was sent automatically.",
  why_security="You are receiving this e-mail because this address receives the contact service's reports (policy.security_address). It was sent automatically.",
 ),
}

# Each kind: subject tail, preheader, paragraphs (text), summary rows, extra.
K = {}
K["validation"] = {
 "fr": dict(
  subject="votre accord est demandé",
  pre="Votre accord est demandé pour un changement de contact du groupe {group}.",
  title="Votre accord est demandé",
  paras=["{asker_phrase} que {the_roles} du groupe téléphonie {group} {moves} {from_phrase} {to_phrase}.",
         "Le changement ne prend effet que lorsque les deux contacts l'ont accepté. L'autre contact, {other}, reçoit son propre e-mail avec son propre code."],
  rows=["group", "change", "frm", "to", "created", "expires"],
  services=True,
 ),
 "en": dict(
  subject="your approval is requested",
  pre="Your approval is requested for a contact change of group {group}.",
  title="Your approval is requested",
  paras=["{asker_phrase} for {the_roles} of telephony group {group} to move {from_phrase} {to_phrase}.",
         "The change takes effect only once both contacts have accepted it. The other contact, {other}, receives their own e-mail with their own code."],
  rows=["group", "change", "frm", "to", "created", "expires"],
  services=True,
 ),
}
K["waiting"] = {
 "fr": dict(
  subject="en attente de {other}",
  pre="Votre accord est enregistré ; la demande attend la réponse de l'autre contact.",
  title="Votre accord est enregistré",
  paras=["Merci, nous avons bien enregistré votre accord pour que {the_roles} du groupe {group} {moves} {from_phrase} {to_phrase}.",
         "Il manque encore celui de l'autre contact, {other}. La demande reste en attente jusqu'au {expires_at} ; sans sa réponse d'ici là, elle expirera et rien ne changera.",
         "Vous n'avez rien d'autre à faire : vous recevrez un e-mail dès que la demande sera close."],
  rows=["group", "change", "frm", "to", "expires"],
  services=True,
 ),
 "en": dict(
  subject="waiting for {other}",
  pre="Your approval is recorded; the request now waits for the other contact.",
  title="Your approval is recorded",
  paras=["Thank you: we have recorded your approval for {the_roles} of group {group} to move {from_phrase} {to_phrase}.",
         "The other contact, {other}, has yet to give theirs. The request stays open until {expires_at}; without their answer by then, it will expire and nothing will change.",
         "There is nothing more for you to do: you will receive an e-mail as soon as the request is closed."],
  rows=["group", "change", "frm", "to", "expires"],
  services=True,
 ),
}
K["done"] = {
 "fr": dict(
  subject="changement effectué",
  pre="Le changement de contact du groupe {group} est effectué.",
  title="Changement effectué",
  paras=["Les deux contacts ont donné leur accord : depuis le {done_at}, {the_roles} du groupe {group} {has_moved} {from_phrase} {to_phrase}.",
         "Vous n'avez rien d'autre à faire. Si vous n'êtes pas à l'origine de ce changement, contactez notre service client."],
  rows=["group", "change", "before", "after", "done"],
  services=True,
 ),
 "en": dict(
  subject="change completed",
  pre="The contact change of group {group} is complete.",
  title="Change completed",
  paras=["Both contacts have given their approval: since {done_at}, {the_roles} of group {group} {has_moved} {from_phrase} {to_phrase}.",
         "There is nothing more for you to do. If you did not expect this change, please contact our customer service."],
  rows=["group", "change", "before", "after", "done"],
  services=True,
 ),
}
K["refused"] = {
 "fr": dict(
  subject="demande refusée",
  pre="La demande de changement de contact du groupe {group} a été refusée.",
  title="Demande refusée",
  paras=["La demande n° {id} de passage {of_the_roles} du groupe {group} {from_phrase} {to_phrase} n'a pas abouti. {reason}",
         "Rien n'a changé : les contacts du groupe restent les mêmes, et les codes de validation envoyés pour cette demande ne sont plus valables."],
  rows=["group", "change", "frm", "to", "created", "closed"],
 ),
 "en": dict(
  subject="request refused",
  pre="The contact change request for group {group} was refused.",
  title="Request refused",
  paras=["Request #{id} to move {the_roles} of group {group} {from_phrase} {to_phrase} did not go through. {reason}",
         "Nothing has changed: the group keeps its contacts, and the validation codes sent for this request no longer work."],
  rows=["group", "change", "frm", "to", "created", "closed"],
 ),
}
K["expired"] = {
 "fr": dict(
  subject="demande expirée",
  pre="La demande de changement de contact du groupe {group} a expiré.",
  title="Demande expirée",
  paras=["La demande n° {id} de passage {of_the_roles} du groupe {group} {from_phrase} {to_phrase} n'a pas abouti. {reason}",
         "Rien n'a changé. Si le changement est toujours souhaité, l'administrateur du groupe peut faire une nouvelle demande."],
  rows=["group", "change", "frm", "to", "created", "ended"],
 ),
 "en": dict(
  subject="request expired",
  pre="The contact change request for group {group} has expired.",
  title="Request expired",
  paras=["Request #{id} to move {the_roles} of group {group} {from_phrase} {to_phrase} did not go through. {reason}",
         "Nothing has changed. If the change is still wanted, the group's administrator can make a new request."],
  rows=["group", "change", "frm", "to", "created", "ended"],
 ),
}
K["cancelled"] = {
 "fr": dict(
  subject="demande annulée",
  pre="La demande de changement de contact du groupe {group} a été annulée.",
  title="Demande annulée",
  paras=["La demande n° {id} de passage {of_the_roles} du groupe {group} {from_phrase} {to_phrase} n'a pas abouti. {reason}",
         "Rien n'a changé, et les codes de validation envoyés pour cette demande ne sont plus valables. Vous n'avez rien à faire."],
  rows=["group", "change", "frm", "to", "created", "closed"],
 ),
 "en": dict(
  subject="request cancelled",
  pre="The contact change request for group {group} was cancelled.",
  title="Request cancelled",
  paras=["Request #{id} to move {the_roles} of group {group} {from_phrase} {to_phrase} did not go through. {reason}",
         "Nothing has changed, and the validation codes sent for this request no longer work. There is nothing for you to do."],
  rows=["group", "change", "frm", "to", "created", "closed"],
 ),
}
K["failed"] = {
 "fr": dict(
  subject="changement non effectué",
  pre="Le changement de contact du groupe {group} n'a pas pu être appliqué.",
  title="Changement non effectué",
  paras=["Les deux contacts avaient donné leur accord au passage {of_the_roles} du groupe {group} {from_phrase} {to_phrase}, mais le changement n'a pas pu être appliqué. {reason}",
         "Rien n'a changé. Une fois la situation régularisée, l'administrateur du groupe peut faire une nouvelle demande."],
  rows=["group", "change", "frm", "to", "created", "closed"],
 ),
 "en": dict(
  subject="change not made",
  pre="The contact change of group {group} could not be applied.",
  title="Change not made",
  paras=["Both contacts had approved moving {the_roles} of group {group} {from_phrase} {to_phrase}, but the change could not be applied. {reason}",
         "Nothing has changed. Once the situation is put right, the group's administrator can make a new request."],
  rows=["group", "change", "frm", "to", "created", "closed"],
 ),
}
K["notice"] = {
 "fr": dict(
  subject_full="Votre réponse n'a pas été prise en compte",
  pre="Votre message à {validation_address} n'a pas été pris en compte.",
  title="Votre réponse n'a pas été prise en compte",
  paras=["Votre dernier message adressé à {validation_address} n'a pas été pris en compte. {reason}",
         "Si vous avez besoin d'aide, contactez notre service client."],
  rows=[],
 ),
 "en": dict(
  subject_full="Your answer was not taken into account",
  pre="Your message to {validation_address} was not taken into account.",
  title="Your answer was not taken into account",
  paras=["Your latest message to {validation_address} was not taken into account. {reason}",
         "If you need help, please contact our customer service."],
  rows=[],
 ),
}
# The validation mail again, with the same code (rule 9).
K["reminder"] = {
 "fr": dict(
  subject="rappel, votre accord est attendu",
  pre="Rappel : votre réponse à la demande de changement de contact du groupe {group} est attendue.",
  title="Rappel : votre réponse est attendue",
  paras=["Nous n'avons pas encore reçu votre réponse : {asker_phrase} que {the_roles} du groupe téléphonie {group} {moves} {from_phrase} {to_phrase}.",
         "Votre code de validation est le même que dans notre premier e-mail, qui reste valable. Sans réponse des deux contacts avant le {expires_at}, la demande expirera et rien ne changera."],
  rows=["group", "change", "frm", "to", "created", "expires"],
  services=True,
 ),
 "en": dict(
  subject="reminder, your approval is awaited",
  pre="Reminder: your answer to the contact change request for group {group} is awaited.",
  title="Reminder: your answer is awaited",
  paras=["We have not yet received your answer: {asker_phrase} for {the_roles} of telephony group {group} to move {from_phrase} {to_phrase}.",
         "Your validation code is the same as in our first e-mail, which still works. Without both contacts' answers by {expires_at}, the request will expire and nothing will change."],
  rows=["group", "change", "frm", "to", "created", "expires"],
  services=True,
 ),
}
# To the admin who asked: a contact's address bounced (rule 12).
K["bounced"] = {
 "fr": dict(
  subject="un e-mail n'a pas pu être remis",
  pre="L'e-mail de validation envoyé à {other} n'a pas pu être remis.",
  title="Un e-mail n'a pas pu être remis",
  paras=["L'e-mail de validation de la demande n° {id} ({the_roles} du groupe {group}) n'a pas pu être remis à {other} : son adresse e-mail n'accepte pas nos messages.",
         "Pour continuer, faites corriger l'adresse e-mail du compte {other_nic} dans son profil, puis renvoyez la demande (« Renvoyer la demande ») : le nouvel e-mail partira vers l'adresse corrigée."],
  rows=["group", "change", "frm", "to", "expires"],
  why="why_asker",
 ),
 "en": dict(
  subject="an e-mail could not be delivered",
  pre="The validation e-mail sent to {other} could not be delivered.",
  title="An e-mail could not be delivered",
  paras=["The validation e-mail of request #{id} ({the_roles} of group {group}) could not be delivered to {other}: their e-mail address does not accept our messages.",
         "To go on, have the e-mail address of account {other_nic} corrected in its profile, then resend the request (\"Resend the request\"): the new e-mail will go to the corrected address."],
  rows=["group", "change", "frm", "to", "expires"],
  why="why_asker",
 ),
}
# To policy.security_address: "this wasn't me" (rule 11).
K["report"] = {
 "fr": dict(
  subject="signalée par un contact",
  pre="Un contact a refusé et signalé la demande n° {id} du groupe {group}.",
  title="Demande signalée par un contact",
  greeting="Bonjour,",
  paras=["Le compte {nic} a refusé la demande n° {id}, qui faisait passer {the_roles} du groupe {group} du compte {from_nic} au compte {to_nic}, en indiquant ne pas en être à l'origine ni l'attendre (« ce n'est pas moi »).",
         "La demande, faite par {asked_by}, est refusée : rien n'a changé dans le groupe. Son historique : contactctl log {id}"],
  rows=["group", "change", "created"],
  why="why_security",
 ),
 "en": dict(
  subject="reported by a contact",
  pre="A contact refused and reported request #{id} of group {group}.",
  title="Request reported by a contact",
  greeting="Hello,",
  paras=["Account {nic} refused request #{id}, which moved {the_roles} of group {group} from account {from_nic} to account {to_nic}, saying they neither asked for it nor expected it (\"this wasn't me\").",
         "The request, made by {asked_by}, is refused: nothing changed in the group. Its history: contactctl log {id}"],
  rows=["group", "change", "created"],
  why="why_security",
 ),
}

VALUE = dict(group="{group}", change="{the_roles}", roles="{roles}", frm="{from_who}", to="{to_who}",
             created="{created_at}", expires="{expires_at}", before="{from_who}", after="{to_who}",
             done="{done_at}", ended="{expires_at}", closed="{done_at}")
HTML_ROW_LABEL = dict(change="roles")  # the HTML table says "Rôles : technique et facturation"

VALID = {
 "fr": dict(
  code_intro="Votre code de validation personnel :",
  code_note="Ce code est personnel et ne sert qu'une fois. Il expire avec la demande, le {expires_at}.",
  ways="Pour répondre, au choix :",
  w1="En ligne, sur la page de la demande :",
  w2="Par e-mail : répondez à ce message en écrivant « J'accepte » ou « Je refuse » seul sur la première ligne.",
  w3="En un clic : envoyez un e-mail, même vide, à l'une de ces adresses :",
  acc="Pour accepter :", ref="Pour refuser :",
  report="Vous ne reconnaissez pas cette demande ? Ne l'acceptez pas : écrivez à {report_address} (« ce n'est pas moi »). La demande sera refusée et notre équipe sécurité prévenue.",
  b_page="Répondre en ligne", b_acc="J'accepte", b_ref="Je refuse", b_rep="Ce n'est pas moi",
  h_code="Votre code de validation", h_ways="Comment répondre",
  h_mail="Vous pouvez aussi répondre à cet e-mail en écrivant « J'accepte » ou « Je refuse » seul sur la première ligne.",
  h_report="Vous ne reconnaissez pas cette demande ? Ne l'acceptez pas et signalez-la : la demande sera refusée et notre équipe sécurité prévenue.",
  h_services="Services concernés",
 ),
 "en": dict(
  code_intro="Your personal validation code:",
  code_note="This code is personal and works only once. It expires with the request, on {expires_at}.",
  ways="To answer, choose one of these ways:",
  w1="Online, on the request's page:",
  w2="By e-mail: reply to this message with \"I accept\" or \"I refuse\" alone on the first line.",
  w3="In one click: send an e-mail, even an empty one, to one of these addresses:",
  acc="To accept:", ref="To refuse:",
  report="You do not recognise this request? Do not accept it: write to {report_address} (\"this wasn't me\"). The request will be refused and our security team told.",
  b_page="Answer online", b_acc="I accept", b_ref="I refuse", b_rep="This wasn't me",
  h_code="Your validation code", h_ways="How to answer",
  h_mail="You can also reply to this e-mail with \"I accept\" or \"I refuse\" alone on the first line.",
  h_report="You do not recognise this request? Do not accept it, report it: the request will be refused and our security team told.",
  h_services="Services covered",
 ),
}

# ---------------------------------------------------------------- text
def text_part(lang, kind):
    k = K[kind][lang]; w = W[lang]
    out = []
    subj = k.get("subject_full") or (w["subj"] + k["subject"])
    out.append("Subject: " + subj)
    out.append("")
    out.append(k.get("greeting", "{greeting}"))
    out.append("")
    for p in k["paras"]:
        out.append(p); out.append("")
    if k["rows"]:
        width = max(len(lbl(lang, r)) for r in k["rows"])
        for r in k["rows"]:
            label = lbl(lang, r)
            if lang == "fr":
                out.append("  " + label + " " * (width - len(label)) + " : " + VALUE[r])
            else:
                out.append("  " + label + ":" + " " * (width - len(label)) + " " + VALUE[r])
        out.append("")
    if k.get("services"):
        out.append("{services_sentence}")
        out.append("{services}")
        out.append("")
    if kind in ("validation", "reminder"):
        v = VALID[lang]
        out += [v["code_intro"], "", "    {code}", "", v["code_note"], "", v["ways"], "",
                "  1. " + v["w1"], "     {url}",
                "  2. " + v["w2"],
                "  3. " + v["w3"],
                "     " + v["acc"], "     {accept_address}",
                "     " + v["ref"], "     {refuse_address}", "",
                v["report"], ""]
    out.append("-- ")
    out.append(w["sig"])
    out.append("")
    out.append(w[k["why"]] if "why" in k else w["why_notice"] if kind == "notice" else w["why_req"])
    if lang == "fr":
        out = out[:1] + [frpunct(l) for l in out[1:]]
    return "\n".join(wrap72(out)) + "\n"

def wrap72(lines):
    """Template lines within 72 columns (the subject excepted); the
    composer fills a paragraph again when values make it longer."""
    import textwrap, re
    res = []
    for i, l in enumerate(lines):
        if i == 0 or len(l) <= 72 or l == "-- ":
            res.append(l)
            continue
        m = re.match(r"( *)(\d\. |- )?", l)
        ind = len(m.group(1)); hang = ind + (len(m.group(2)) if m.group(2) else 0)
        res += textwrap.wrap(l[ind:], 72, initial_indent=" " * ind, subsequent_indent=" " * hang,
                             break_long_words=False, break_on_hyphens=False)
    return res

def lbl(lang, r):
    return W[lang]["lbl"][r]

# ---------------------------------------------------------------- html
FONT = "font-family:Arial,Helvetica,sans-serif;"
MONO = "font-family:Menlo,Consolas,'Courier New',Courier,monospace;"
C = dict(page="#eef2f6", card="#ffffff", ink="#1f2933", muted="#52606d", brand="#0b3d66",
         rule="#d9e2ec", codebg="#f0f4f8", accept="#1e7b34", refuse="#b42318", primary="#0b5cad")

def esc(s, lang):
    s = H.escape(s, quote=False)
    return frpunct(s) if lang == "fr" else s

def button(label, href, bg, fg, border, lang):
    return ('<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0"><tr>'
            '<td align="center" bgcolor="{bg}" style="background-color:{bg};border:2px solid {bd};border-radius:6px;">'
            '<a href="{href}" style="display:block;padding:12px 8px;{font}font-size:16px;line-height:20px;'
            'font-weight:bold;color:{fg};background-color:{bg};text-decoration:none;border-radius:6px;">{label}</a>'
            '</td></tr></table>').format(bg=bg, bd=border, href=href, font=FONT, fg=fg, label=esc(label, lang))

ACCENT = dict(validation="#0b5cad", waiting="#0b5cad", done="#1e7b34", refused="#b42318", failed="#b42318",
              expired="#52606d", cancelled="#52606d", notice="#8a5a00", reminder="#0b5cad", bounced="#8a5a00",
              report="#b42318")


def html_part(lang, kind):
    k = K[kind][lang]; w = W[lang]
    accent = ACCENT[kind]
    L = []
    a = L.append
    a('<!DOCTYPE html>')
    a('<html lang="%s">' % lang)
    a('<head>')
    a('<meta charset="utf-8">')
    a('<meta name="viewport" content="width=device-width, initial-scale=1">')
    a('<meta name="color-scheme" content="light only">')
    a('<meta name="supported-color-schemes" content="light">')
    a('<title>%s</title>' % esc(k["title"], lang))
    a('</head>')
    a('<body style="margin:0;padding:0;background-color:%s;color:%s;">' % (C["page"], C["ink"]))
    a('<div style="display:none;max-height:0;overflow:hidden;mso-hide:all;font-size:1px;line-height:1px;color:%s;">%s</div>'
      % (C["page"], esc(k["pre"], lang)))
    a('<table role="presentation" width="100%%" cellpadding="0" cellspacing="0" border="0" bgcolor="%s" style="background-color:%s;">'
      % (C["page"], C["page"]))
    a('<tr><td align="center" style="padding:20px 8px;">')
    a('<!--[if mso]><table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0"><tr><td><![endif]-->')
    a('<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:600px;width:100%;">')
    # header
    a('<tr><td bgcolor="%s" style="background-color:%s;color:#ffffff;padding:16px 20px;%sfont-size:17px;line-height:22px;font-weight:bold;border-radius:8px 8px 0 0;">{provider}</td></tr>'
      % (C["brand"], C["brand"], FONT))
    # card
    a('<tr><td bgcolor="%s" style="background-color:%s;color:%s;padding:24px 20px;%sfont-size:15px;line-height:22px;border-top:4px solid %s;">'
      % (C["card"], C["card"], C["ink"], FONT, accent))
    a('<h1 style="margin:0 0 16px 0;%sfont-size:22px;line-height:28px;font-weight:bold;color:%s;">%s</h1>'
      % (FONT, accent, esc(k["title"], lang)))
    a('<p style="margin:0 0 14px 0;color:%s;">%s</p>' % (C["ink"], k.get("greeting", "{greeting}")))
    for p in k["paras"]:
        a('<p style="margin:0 0 14px 0;color:%s;">%s</p>' % (C["ink"], esc(p, lang)))
    if k["rows"]:
        a('<table role="presentation" width="100%%" cellpadding="0" cellspacing="0" border="0" style="margin:6px 0 18px 0;border-top:1px solid %s;">' % C["rule"])
        rows = list(k["rows"])
        if k.get("services"):
            rows.append("services")
        for r in rows:
            label = lbl(lang, HTML_ROW_LABEL.get(r, r))
            value = "{roles}" if r == "change" else ("{services}" if r == "services" else VALUE[r])
            a('<tr><td valign="top" style="padding:8px 10px 8px 0;border-bottom:1px solid %s;%sfont-size:14px;line-height:20px;color:%s;width:34%%;">%s</td>'
              '<td valign="top" style="padding:8px 0;border-bottom:1px solid %s;%sfont-size:14px;line-height:20px;color:%s;font-weight:bold;">%s</td></tr>'
              % (C["rule"], FONT, C["muted"], esc(label, lang), C["rule"], FONT, C["ink"], value))
        a('</table>')
    if k.get("services"):
        a('<p style="margin:0 0 14px 0;color:%s;">{services_note}</p>' % C["ink"])
    if kind in ("validation", "reminder"):
        v = VALID[lang]
        a('<table role="presentation" width="100%%" cellpadding="0" cellspacing="0" border="0" style="margin:8px 0 18px 0;"><tr>'
          '<td align="center" bgcolor="%s" style="background-color:%s;border:1px solid %s;border-radius:8px;padding:14px 6px;">'
          % (C["codebg"], C["codebg"], C["rule"]))
        a('<div style="%sfont-size:13px;line-height:18px;color:%s;margin:0 0 6px 0;">%s</div>' % (FONT, C["muted"], esc(v["h_code"], lang)))
        a('<div style="%sfont-size:18px;line-height:26px;letter-spacing:1px;font-weight:bold;padding:2px 0;color:%s;word-break:break-all;">{code}</div>'
          % (MONO, C["brand"]))
        a('<div style="%sfont-size:13px;line-height:18px;color:%s;margin:6px 0 0 0;">%s</div>' % (FONT, C["muted"], esc(v["code_note"], lang)))
        a('</td></tr></table>')
        a('<h2 style="margin:0 0 10px 0;%sfont-size:17px;line-height:22px;font-weight:bold;color:%s;">%s</h2>' % (FONT, C["brand"], esc(v["h_ways"], lang)))
        a(button(v["b_page"], "{url}", C["primary"], "#ffffff", C["primary"], lang))
        a('<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="margin:10px 0 0 0;"><tr>')
        a('<td width="50%%" valign="top" style="padding:0 5px 0 0;">%s</td>' % button(v["b_acc"], "mailto:{accept_address}", C["accept"], "#ffffff", C["accept"], lang))
        a('<td width="50%%" valign="top" style="padding:0 0 0 5px;">%s</td>' % button(v["b_ref"], "mailto:{refuse_address}", C["refuse"], "#ffffff", C["refuse"], lang))
        a('</tr></table>')
        a('<p style="margin:14px 0 14px 0;color:%s;font-size:14px;line-height:20px;">%s</p>' % (C["ink"], esc(v["h_mail"], lang)))
        a('<table role="presentation" width="100%%" cellpadding="0" cellspacing="0" border="0" style="margin:6px 0 0 0;border-top:1px solid %s;"><tr><td style="padding:14px 0 0 0;">' % C["rule"])
        a('<p style="margin:0 0 10px 0;color:%s;font-size:14px;line-height:20px;">%s</p>' % (C["ink"], esc(v["h_report"], lang)))
        a(button(v["b_rep"], "mailto:{report_address}", "#ffffff", C["refuse"], C["refuse"], lang))
        a('</td></tr></table>')
    a('</td></tr>')
    # footer
    why = w[k["why"]] if "why" in k else w["why_notice"] if kind == "notice" else w["why_req"]
    a('<tr><td bgcolor="%s" style="background-color:%s;color:%s;padding:16px 20px;%sfont-size:12px;line-height:18px;border-top:1px solid %s;border-radius:0 0 8px 8px;">'
      % (C["page"], C["page"], C["muted"], FONT, C["rule"]))
    a('<p style="margin:0 0 6px 0;color:%s;font-weight:bold;">%s</p>' % (C["muted"], esc(w["sig"], lang)))
    a('<p style="margin:0;color:%s;">%s</p>' % (C["muted"], esc(why, lang)))
    a('</td></tr>')
    a('</table>')
    a('<!--[if mso]></td></tr></table><![endif]-->')
    a('</td></tr></table>')
    a('</body>')
    a('</html>')
    return "\n".join(L) + "\n"

for lang in ("fr", "en"):
    for kind in K:
        with open(os.path.join(OUT, lang, kind + ".txt"), "w") as f:
            f.write(text_part(lang, kind))
        with open(os.path.join(OUT, lang, kind + ".html"), "w") as f:
            f.write(html_part(lang, kind))
