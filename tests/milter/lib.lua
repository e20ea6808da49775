-- lib.lua - helpers for the miltertest cases: connect, send an envelope and
-- a message, and fail loudly (miltertest loses error() messages otherwise).
function fail(msg)
	io.stderr:write("FAIL: " .. msg .. "\n")
	error(msg)
end

function expect(cond, msg)
	if not cond then fail(msg) end
end

-- A step's reply must be "continue", unless the milter asked the MTA not
-- to wait for one (protocol v6 no-reply flags).
function step_ok(conn, nr_flag, what)
	if mt.test_option(conn, nr_flag) then return end
	expect(mt.getreply(conn) == SMFIR_CONTINUE, what .. " not continued")
end

function open()
	local conn = mt.connect(SOCK, 40, 0.25)
	expect(conn ~= nil, "cannot connect to " .. SOCK)
	expect(mt.negotiate(conn, nil, nil, nil) == nil, "negotiation failed")
	if not mt.test_option(conn, SMFIP_NOCONNECT) then
		expect(mt.conninfo(conn, "client.example.net", "127.0.0.1") == nil, "conninfo failed")
		step_ok(conn, SMFIP_NR_CONN, "connect")
	end
	if not mt.test_option(conn, SMFIP_NOHELO) then
		expect(mt.helo(conn, "client.example.net") == nil, "helo failed")
		step_ok(conn, SMFIP_NR_HELO, "helo")
	end
	return conn
end

-- MAIL FROM and every RCPT TO; each must be continued.
function envelope(conn, from, rcpts)
	mt.macro(conn, SMFIC_MAIL, "i", "QID" .. tostring(math.random(100000)))
	expect(mt.mailfrom(conn, from) == nil, "mailfrom failed")
	step_ok(conn, SMFIP_NR_MAIL, "MAIL FROM")
	for _, r in ipairs(rcpts) do
		expect(mt.rcptto(conn, r) == nil, "rcptto failed")
		step_ok(conn, SMFIP_NR_RCPT, "RCPT TO " .. r)
	end
end

-- DATA, headers, body, end of message; returns the reply at end of message.
function message(conn, headers, body)
	expect(mt.data(conn) == nil, "data failed")
	expect(mt.getreply(conn) == SMFIR_CONTINUE, "DATA not continued for a message of ours")
	for _, h in ipairs(headers) do
		expect(mt.header(conn, h[1], h[2]) == nil, "header failed")
		step_ok(conn, SMFIP_NR_HDR, "header " .. h[1])
	end
	expect(mt.eoh(conn) == nil, "eoh failed")
	expect(mt.bodystring(conn, body) == nil, "body failed")
	expect(mt.eom(conn) == nil, "eom failed")
	return mt.getreply(conn)
end

function reply_headers(from, to, msgid)
	return {
		{"From", "Contact <" .. from .. ">"},
		{"To", to},
		{"Subject", "Re: Contact change"},
		{"Message-ID", "<" .. msgid .. "@client.example.net>"},
		{"Date", "Thu, 26 Nov 2026 10:00:00 +0100"},
		{"MIME-Version", "1.0"},
		{"Content-Type", "text/plain; charset=utf-8"},
	}
end

-- A plain reply in the style of a French Gmail: the answer on top, the
-- original (with its token and both words) quoted below.
function french_reply(first_line)
	return first_line .. "\r\n\r\nLe jeu. 26 nov. 2026 à 09:00, Telephony contacts <no-reply@contacts.example.com>\r\n" ..
		"a écrit :\r\n> Pour répondre : « J'accepte » ou « Je refuse » en première ligne.\r\n" ..
		"> Votre code de validation personnel : " .. (TOKEN or "") .. "\r\n"
end

-- The reason the milter logged for its last refusal (LOG is its log file).
function last_refusal()
	local last = nil
	for line in io.lines(LOG) do
		local r = line:match(" refused: (.*)$") or line:match(" refused %(rate%-limited%): (.*)$")
		if r then last = r end
	end
	return last
end

-- Expect "550 5.7.1 <reason>", the reason being the one the milter logged.
function expect_550(conn, rc)
	expect(rc == SMFIR_REPLYCODE, "expected a reply code, got " .. tostring(rc))
	local reason = last_refusal()
	expect(reason ~= nil, "no refusal in the milter's log")
	expect(mt.eom_check(conn, MT_SMTPREPLY, "550", "5.7.1", reason), "expected '550 5.7.1 " .. reason .. "'")
end
