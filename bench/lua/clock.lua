-- Shared by the scripts: a monotonic wall clock (wrk's Lua has none) and the drain.
--
-- Every script stops issuing requests BENCH_ACTIVE_SECONDS after it starts, waits for the
-- answer to each request it sent, then prints "BENCH_DRAINED" once per thread; the harness
-- interrupts wrk when every thread has drained. So no request is cut off in flight and
-- "acknowledged" can be compared exactly with what the server stored.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")

function bench_now()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC: the same clock in every thread
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

bench_threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
  table.insert(bench_threads, thread)
end

-- Per-thread counters (each wrk thread has its own Lua state).
sent, received, ok, non2xx, s5xx, first, last = 0, 0, 0, 0, 0, 0, 0
local active = tonumber(os.getenv("BENCH_ACTIVE_SECONDS") or "5")
local deadline = nil
local drained = false


local function check_drained(now)
  if not drained and now >= deadline and received == sent then
    drained = true
    io.write("BENCH_DRAINED\n")
    io.flush()
  end
end

-- wrk calls delay() before each request it sends (and request() once more at start-up
-- without sending it), so requests are counted here, not in request().
function delay()
  local now = bench_now()
  if deadline == nil then
    deadline = now + active
    first = now
  end
  if now >= deadline then
    check_drained(now)
    return 3600000 -- no new request after the deadline
  end
  sent = sent + 1
  return 0
end

function bench_record(status)
  received = received + 1
  last = bench_now()
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    non2xx = non2xx + 1
    if status >= 500 then s5xx = s5xx + 1 end
  end
  if deadline ~= nil then check_drained(last) end
end

-- One JSON line the harness parses. extra: names of further per-thread counters to sum.
function bench_done(summary, latency, extra)
  local total = { sent = 0, received = 0, ok = 0, non2xx = 0, s5xx = 0 }
  for _, name in ipairs(extra or {}) do total[name] = 0 end
  local t_first, t_last = math.huge, 0
  for _, thread in ipairs(bench_threads) do
    for name, _ in pairs(total) do total[name] = total[name] + (thread:get(name) or 0) end
    local f, l = thread:get("first") or 0, thread:get("last") or 0
    if f > 0 and f < t_first then t_first = f end
    if l > t_last then t_last = l end
  end
  local parts = {}
  for name, value in pairs(total) do table.insert(parts, string.format('"%s":%d', name, value)) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {%s,"seconds":%.6f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,' ..
    '"timeouts":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"status_errors":%d}\n',
    table.concat(parts, ","), (t_last > 0 and t_first < math.huge) and (t_last - t_first) or 0,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.timeout, e.connect, e.read, e.write, e.status))
end
