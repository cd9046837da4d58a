-- wrk script of `make bench`: every request carries the next token of a pool file.
-- usage: wrk ... -s bench/pool.lua URL -- POOL_FILE [OFFSET]
-- Each wrk thread starts at its own place in the pool (OFFSET + thread index * pool/threads), so
-- with the `fresh` pool no token is sent twice until the pool wraps around (the report says when).
-- Requests are formatted once in init(), so that wrk spends as little as possible per request.
-- done() prints one line `WRK_JSON {...}` that bench/run.py parses.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local tokens = {}
local idx = 0

function init(args)
  local file = args[1]
  for line in io.lines(file) do
    if #line > 0 then
      tokens[#tokens + 1] = wrk.format("GET", "/orders/42",
        { ["Host"] = "orders.bench", ["Authorization"] = "Bearer " .. line })
    end
  end
  local offset = tonumber(args[2] or "0")
  local nthreads = tonumber(args[3] or "1")
  idx = (offset + tid * math.floor(#tokens / nthreads)) % #tokens
end

function request()
  idx = idx + 1
  if idx > #tokens then idx = 1 end
  return tokens[idx]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"non_2xx_3xx":%d,"connect_errors":%d,' ..
    '"read_errors":%d,"write_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read, e.write,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
