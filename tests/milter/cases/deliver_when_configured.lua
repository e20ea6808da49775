-- With on_processed = deliver, a recorded reply goes on to the validation
-- mailbox, marked with X-Contact-Change.
dofile(LIB)
local conn = open()
local rcpt = "validation+accept-" .. TOKEN .. "@contacts.example.com"
envelope(conn, FROM, {"<" .. rcpt .. ">"})
local rc = message(conn, reply_headers(FROM, rcpt, "m-deliver"), "\r\n")
expect(rc == SMFIR_ACCEPT, "not accepted for delivery: " .. tostring(rc))
expect(mt.eom_check(conn, MT_HDRADD, "X-Contact-Change", "request=" .. REQ .. " decision=accepted"),
	"X-Contact-Change not 'request=" .. REQ .. " decision=accepted'")
expect(not mt.eom_check(conn, MT_RCPTDELETE, "<" .. rcpt .. ">"), "our recipient was removed")
mt.disconnect(conn)
