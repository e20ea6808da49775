-- wrk script for make bench: GET each path of $WEB_PATHS in turn, so that
-- every request reads a different request's page from the store.
local paths = {}
for line in io.lines(os.getenv("WEB_PATHS")) do
	paths[#paths + 1] = line
end
local i = math.random(#paths)
request = function()
	i = i % #paths + 1
	return wrk.format("GET", paths[i])
end
