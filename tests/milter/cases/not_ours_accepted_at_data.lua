-- Mail with no recipient of ours is accepted once every recipient is known,
-- at DATA: its headers and body are never read.
dofile(LIB)
local conn = open()
envelope(conn, "someone@example.org", {"<alice@example.com>", "<other@contacts.example.com>"})
expect(mt.data(conn) == nil, "data failed")
expect(mt.getreply(conn) == SMFIR_ACCEPT, "not accepted at DATA")
mt.disconnect(conn)
