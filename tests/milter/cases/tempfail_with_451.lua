-- The store cannot be written: 451 4.3.0, so the sender's server retries.
dofile(LIB)
local conn = open()
envelope(conn, FROM, {"<validation+" .. TOKEN .. "@contacts.example.com>"})
local rc = message(conn, reply_headers(FROM, "validation+" .. TOKEN .. "@contacts.example.com", "m-451"),
	french_reply("J'accepte"))
expect(rc == SMFIR_REPLYCODE, "expected a reply code, got " .. tostring(rc))
expect(mt.eom_check(conn, MT_SMTPREPLY, "451", "4.3.0", "temporary failure, please retry later"),
	"expected '451 4.3.0 temporary failure, please retry later'")
mt.disconnect(conn)
