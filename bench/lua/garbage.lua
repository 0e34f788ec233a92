-- GET BENCH_PATH with a garbage bearer token, a different one each time: in turn plain junk,
-- three dot-separated parts shaped like a JWT (a real-looking header, random payload and
-- signature), and a JWT-shaped token whose header is not base64.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local path = os.getenv("BENCH_PATH")
local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
local n = 0

init = function(args)
  math.randomseed(os.time() * 100 + thread_number)
end

local function junk(length)
  local out = {}
  for i = 1, length do
    local k = math.random(1, #alphabet)
    out[i] = string.sub(alphabet, k, k)
  end
  return table.concat(out)
end

request = function()
  n = n + 1
  local token
  if n % 3 == 0 then
    token = junk(40)
  elseif n % 3 == 1 then
    token = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6Inh4In0." .. junk(120) .. "." .. junk(342)
  else
    token = "!!" .. junk(30) .. "." .. junk(60) .. "." .. junk(40)
  end
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end
