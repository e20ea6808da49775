-- A session that ends right after connecting, and one aborted mid-message:
-- the milter must not fall over (the next case would fail to connect).
dofile(LIB)
local conn = mt.connect(SOCK, 40, 0.25)
expect(conn ~= nil, "cannot connect")
mt.disconnect(conn)
-- negotiated, then gone before any message
conn = mt.connect(SOCK, 40, 0.25)
expect(conn ~= nil, "cannot connect")
expect(mt.negotiate(conn, nil, nil, nil) == nil, "negotiation failed")
mt.disconnect(conn)
conn = open()
envelope(conn, FROM, {"<validation+" .. TOKEN .. "@contacts.example.com>"})
expect(mt.data(conn) == nil, "data failed")
expect(mt.header(conn, "From", FROM) == nil, "header failed")
expect(mt.abort(conn) == nil, "abort failed")
mt.disconnect(conn)
