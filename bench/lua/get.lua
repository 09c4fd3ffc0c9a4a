-- GET one path with the admin token (history reads).
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
require("clock")

local path = os.getenv("BENCH_PATH")
local headers = { ["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN") }

function request()
  return wrk.format("GET", path, headers)
end

function response(status, hdrs, resp)
  bench_record(status)
end

function done(summary, latency, requests)
  bench_done(summary, latency)
end
