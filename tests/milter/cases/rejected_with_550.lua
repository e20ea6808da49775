-- One message whose answer cannot be recorded: 550 5.7.1 (the driver reads
-- the reason from the log).  BODY_LINE, RCPT_LOCAL and SENDER vary per case.
dofile(LIB)
local conn = open()
local rcpt = RCPT_LOCAL .. "@contacts.example.com"
envelope(conn, SENDER, {"<" .. rcpt .. ">"})
local rc = message(conn, reply_headers(SENDER, rcpt, MSGID), french_reply(BODY_LINE))
expect_550(conn, rc)
mt.disconnect(conn)
