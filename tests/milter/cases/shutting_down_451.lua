-- A message that reaches its end once SIGTERM is being handled: 451 4.3.2,
-- so the sender's server retries later (nothing is decided).
dofile(LIB)
local conn = open()
envelope(conn, FROM, {"<validation+" .. TOKEN .. "@contacts.example.com>"})
local rc = message(conn, reply_headers(FROM, "validation+" .. TOKEN .. "@contacts.example.com", "m-draining"),
	french_reply("J'accepte"))
expect(rc == SMFIR_REPLYCODE, "expected a reply code, got " .. tostring(rc))
expect(mt.eom_check(conn, MT_SMTPREPLY, "451", "4.3.2", "shutting down, please retry later"),
	"expected '451 4.3.2 shutting down, please retry later'")
mt.disconnect(conn)
