-- The milter asks the MTA to skip the connection and HELO events and not to
-- wait for its replies to MAIL, RCPT, headers and body: ordinary mail then
-- costs one round trip (at DATA), like a milter with no such callbacks.
dofile(LIB)
local conn = mt.connect(SOCK, 40, 0.25)
expect(conn ~= nil, "cannot connect")
expect(mt.negotiate(conn, nil, nil, nil) == nil, "negotiation failed")
for _, f in ipairs({{SMFIP_NOCONNECT, "NOCONNECT"}, {SMFIP_NOHELO, "NOHELO"}, {SMFIP_NR_MAIL, "NR_MAIL"},
		{SMFIP_NR_RCPT, "NR_RCPT"}, {SMFIP_NR_HDR, "NR_HDR"}, {SMFIP_NR_BODY, "NR_BODY"}}) do
	expect(mt.test_option(conn, f[1]), "option " .. f[2] .. " not negotiated")
end
expect(mt.test_action(conn, SMFIF_ADDHDRS), "action ADDHDRS not asked")
expect(mt.test_action(conn, SMFIF_DELRCPT), "action DELRCPT not asked")
expect(not mt.test_action(conn, SMFIF_CHGBODY), "action CHGBODY asked but never used")
mt.disconnect(conn)
