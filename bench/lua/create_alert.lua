-- POST /api/v1/alerts as a school: an absences alert about one of BENCH_CHILDREN (comma-separated
-- ids) in turn, each request with its own Idempotency-Key (BENCH_NONCE, the thread, a counter),
-- so no request is answered as a replay of another.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local token = os.getenv("BENCH_TOKEN")
local nonce = os.getenv("BENCH_NONCE")
local children = {}
for child in string.gmatch(os.getenv("BENCH_CHILDREN"), "[^,]+") do
  children[#children + 1] = child
end
local n = 0

request = function()
  n = n + 1
  local body = string.format(
    '{"child_id":"%s","type":"unexcused_absences","details":{"month":"2026-%02d","unexcused_hours":%d}}',
    children[n % #children + 1], n % 12 + 1, 6 + n % 100)
  local headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("%s-%d-%d", nonce, thread_number, n),
  }
  return wrk.format("POST", "/api/v1/alerts", headers, body)
end
