-- A connection carries two messages: the first not ours (accepted at DATA),
-- the second a valid reply, which must not see the first one's state.
dofile(LIB)
local conn = open()
envelope(conn, "someone@example.org", {"<bob@example.net>"})
expect(mt.data(conn) == nil, "data failed")
expect(mt.getreply(conn) == SMFIR_ACCEPT, "first message not accepted at DATA")
envelope(conn, FROM, {"<validation+" .. TOKEN .. "@contacts.example.com>"})
local rc = message(conn, reply_headers(FROM, "validation+" .. TOKEN .. "@contacts.example.com", "m-two"),
	french_reply("J'accepte"))
expect(rc == SMFIR_DISCARD, "second message not recorded and discarded: " .. tostring(rc))
expect(mt.eom_check(conn, MT_HDRADD, "X-Contact-Change"), "no X-Contact-Change header")
mt.disconnect(conn)
