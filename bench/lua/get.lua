-- GET BENCH_PATH, with BENCH_TOKEN as the bearer token when it is set.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local path = os.getenv("BENCH_PATH")
local token = os.getenv("BENCH_TOKEN") or ""
local headers = {}
if token ~= "" then
  headers["Authorization"] = "Bearer " .. token
end

request = function()
  return wrk.format("GET", path, headers)
end
