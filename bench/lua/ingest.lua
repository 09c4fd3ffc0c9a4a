-- Unique start events: pipelineId = prefix-thread-counter, so every request opens a build.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
require("clock")

local prefix = os.getenv("BENCH_PREFIX")
local component = os.getenv("BENCH_COMPONENT")
local headers = {
  ["Content-Type"] = "application/vnd.codenow.v1+json",
  ["Accept"] = "application/vnd.codenow.v1+json",
  ["X-Codenow-Api-Key"] = os.getenv("BENCH_KEY"),
}
local body = '{"type":"codenow.ci.start.event","version":"application/vnd.codenow.v1+json",' ..
  '"pipelineId":"%s-%d-%d","componentId":"%s","buildVersion":"1.0.%d",' ..
  '"actor":{"username":"bench","fullname":"Bench Mark"},' ..
  '"dashboardUrl":"https://ci.example.org/job/bench/%d/"}'

seq = 0

function request()
  seq = seq + 1
  return wrk.format("POST", "/ci/webhook", headers,
    string.format(body, prefix, tid, seq, component, seq, seq))
end

function response(status, hdrs, resp)
  bench_record(status)
end

function done(summary, latency, requests)
  bench_done(summary, latency)
end
