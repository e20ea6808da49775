-- The validation address as second recipient of a reply-all: the message is
-- still read, the decision recorded, only our recipient removed.
dofile(LIB)
local conn = open()
local ours = "<validation+" .. TOKEN .. "@contacts.example.com>"
envelope(conn, FROM, {"<colleague@example.org>", ours})
local rc = message(conn, reply_headers(FROM, "validation+" .. TOKEN .. "@contacts.example.com, colleague@example.org", "m-second"),
	french_reply("Oui, j'accepte."))
expect(rc == SMFIR_ACCEPT, "reply-all not accepted for the others: " .. tostring(rc))
expect(mt.eom_check(conn, MT_RCPTDELETE, ours), "our recipient was not removed")
expect(mt.eom_check(conn, MT_HDRADD, "X-Contact-Change"), "no X-Contact-Change header")
mt.disconnect(conn)
