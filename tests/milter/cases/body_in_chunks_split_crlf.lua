-- The body arrives in chunks cut inside a CRLF and inside the first line:
-- the reply must read the same as if it came whole.
dofile(LIB)
local conn = open()
local rcpt = "validation+" .. TOKEN .. "@contacts.example.com"
envelope(conn, FROM, {"<" .. rcpt .. ">"})
expect(mt.data(conn) == nil, "data failed")
expect(mt.getreply(conn) == SMFIR_CONTINUE, "DATA not continued")
for _, h in ipairs(reply_headers(FROM, rcpt, "m-chunks")) do
	expect(mt.header(conn, h[1], h[2]) == nil, "header failed")
end
expect(mt.eoh(conn) == nil, "eoh failed")
local body = french_reply("Je refuse.")
local cuts = {3, 11, 12, 40, #body}  -- 11/12 split the CRLF after "Je refuse."
local from = 1
for _, to in ipairs(cuts) do
	expect(mt.bodystring(conn, body:sub(from, to)) == nil, "body chunk failed")
	step_ok(conn, SMFIP_NR_BODY, "body chunk")
	from = to + 1
end
expect(mt.eom(conn) == nil, "eom failed")
local rc = mt.getreply(conn)
expect(rc == SMFIR_DISCARD, "not recorded: " .. tostring(rc))
expect(mt.eom_check(conn, MT_HDRADD, "X-Contact-Change", "request=" .. REQ .. " decision=refused"),
	"X-Contact-Change not 'request=" .. REQ .. " decision=refused'")
mt.disconnect(conn)
