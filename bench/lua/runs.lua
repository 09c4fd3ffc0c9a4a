-- Whole runs: start, three result events, end, per pipeline. Run with as many threads as
-- connections, so a thread's state is its connection's: each walks its own pipelines in
-- order, the next event only after the previous one was acknowledged.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
require("clock")

local prefix = os.getenv("BENCH_PREFIX")
local component = os.getenv("BENCH_COMPONENT")
local headers = {
  ["Content-Type"] = "application/vnd.codenow.v1+json",
  ["Accept"] = "application/vnd.codenow.v1+json",
  ["X-Codenow-Api-Key"] = os.getenv("BENCH_KEY"),
}
local V = '"version":"application/vnd.codenow.v1+json","pipelineId":"%s-%d-%d"'
local events = {
  '{"type":"codenow.ci.start.event",' .. V .. ',"componentId":"' .. component ..
    '","buildVersion":"2.0.%d","actor":{"username":"bench"}}',
  '{"type":"codenow.ci.result.event",' .. V .. ',"payload":[{"type":"git-revision",' ..
    '"version":"v1","repositoryUrl":"https://git.example.org/bench.git","branch":"main",' ..
    '"commitSha":"9f2c1e7%d"}]}',
  '{"type":"codenow.ci.result.event",' .. V .. ',"payload":[{"type":"container",' ..
    '"version":"v1","repositoryUrl":"registry.example.org/team","artifactPath":"bench",' ..
    '"artifactVersion":"2.0.%d"}]}',
  '{"type":"codenow.ci.result.event",' .. V .. ',"payload":[{"type":"helm",' ..
    '"version":"v1","repositoryUrl":"registry.example.org/charts","artifactPath":"bench",' ..
    '"artifactVersion":"2.0.%d"}]}',
  '{"type":"codenow.ci.end.event",' .. V .. ',"result":"SUCCESSFUL"%s}',
}

run, step, runs_done, starts_ok, ends_ok = 1, 1, 0, 0, 0

function request()
  local extra = (step == 5) and "" or run
  return wrk.format("POST", "/ci/webhook", headers,
    string.format(events[step], prefix, tid, run, extra))
end

function response(status, hdrs, resp)
  bench_record(status)
  if status >= 200 and status < 300 then
    if step == 1 then starts_ok = starts_ok + 1 end
    if step == 5 then
      ends_ok = ends_ok + 1
      runs_done = runs_done + 1
    end
    step = step + 1
  else
    step = 6 -- a failed event abandons this pipeline; the next one starts fresh
  end
  if step > 5 then
    step = 1
    run = run + 1
  end
end

function done(summary, latency, requests)
  bench_done(summary, latency, { "runs_done", "starts_ok", "ends_ok" })
end
