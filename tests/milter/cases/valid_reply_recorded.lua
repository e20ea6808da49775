-- A one-click answer (validation+refuse-TOKEN) with an empty body is recorded
-- and discarded, with the X-Contact-Change header naming the decision.
dofile(LIB)
local conn = open()
envelope(conn, FROM, {"<validation+refuse-" .. TOKEN .. "@contacts.example.com>"})
local rc = message(conn, reply_headers(FROM, "validation+refuse-" .. TOKEN .. "@contacts.example.com", "m-click"), "\r\n")
expect(rc == SMFIR_DISCARD, "not discarded: " .. tostring(rc))
expect(mt.eom_check(conn, MT_HDRADD, "X-Contact-Change", "request=" .. REQ .. " decision=refused"),
	"X-Contact-Change not 'request=" .. REQ .. " decision=refused'")
mt.disconnect(conn)
