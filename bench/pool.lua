-- wrk script of `make bench`: every request carries the next token of a pool file.
-- usage: wrk ... -s bench/pool.lua URL -- POOL_FILE [OFFSET [THREADS [BODIES_FILE|- [HEADERS_FILE|-
--            [PROOFS_FILE COUNT once|cycle]]]]]
-- Without BODIES_FILE each request is `GET /orders/42`. With it (the `mcp` workload) each is a
-- `POST /mcp` whose body is the next line of BODIES_FILE (one JSON-RPC message per line, written
-- by bench/run.py), token i with body i (tokens reused in turn when there are more bodies).
-- HEADERS_FILE (bench/run.py writes it from BENCH_HEADERS) lists headers every request also
-- carries, one `Name: value` per line (`client`: what a typical client and mesh add).
-- Each wrk thread starts at its own place in the pool (OFFSET + thread index * pool/threads), so
-- with the `fresh` pool no token is sent twice until the pool wraps around (the report says when).
-- With PROOFS_FILE (the `dpop` workload) each request is `GET /orders/42` with
-- `Authorization: DPoP <token>` and `DPoP: <proof>`: lines OFFSET+1 .. OFFSET+COUNT of PROOFS_FILE
-- (`INDEX<TAB>PROOF`, written by dpop-proofs; INDEX is the 0-based line of POOL_FILE, the bound
-- tokens), shared out between the threads. `once`: each line is sent at most once (a proof is
-- refused the second time); a thread that has sent all of its lines stops (wrk.thread:stop()),
-- the few requests still asked of it carry no token, and done() reports `exhausted`, so that
-- such a run is flagged, never a silent replay. `cycle` (baseline, which checks nothing) sends
-- the lines in turn.
-- Requests are formatted once in init(), so that wrk spends as little as possible per request.
-- done() prints one line `WRK_JSON {...}` that bench/run.py parses.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local prepared = {}  -- the formatted requests, one per token (or per body)
local idx = 0

local function lines(file)
  local out = {}
  for line in io.lines(file) do
    if #line > 0 then out[#out + 1] = line end
  end
  return out
end

-- Each line of HEADERS_FILE is `Name: value`.
local function extra_headers(file)
  local out = {}
  if file and file ~= "-" then
    for line in io.lines(file) do
      local name, value = line:match("^([^:]+):%s*(.*)$")
      if name then out[name] = value end
    end
  end
  return out
end

local function with_extra(headers, extra)
  for name, value in pairs(extra) do headers[name] = value end
  return headers
end

-- Lines FIRST+1 .. FIRST+COUNT of PROOFS_FILE as {token index, proof}.
local function proof_lines(file, first, count)
  local out, n = {}, 0
  for line in io.lines(file) do
    n = n + 1
    if n > first + count then break end
    if n > first then
      local index, proof = line:match("^(%d+)\t(.+)$")
      if index then out[#out + 1] = { tonumber(index), proof } end
    end
  end
  return out
end

local once = false
local spent = nil  -- what a `once` thread sends when its proofs are all used: no token
exhausted = 0       -- read by done() through thread:get

function init(args)
  local pool = lines(args[1])
  local extra = extra_headers(args[5])
  local nthreads = tonumber(args[3] or "1")
  if args[6] and args[6] ~= "-" then
    local per = math.floor(tonumber(args[7]) / nthreads)
    local first = tonumber(args[2] or "0") + tid * per
    once = args[8] == "once"
    for i, entry in ipairs(proof_lines(args[6], first, per)) do
      prepared[i] = wrk.format("GET", "/orders/42", with_extra({
        ["Host"] = "orders.bench",
        ["Authorization"] = "DPoP " .. pool[entry[1] + 1],
        ["DPoP"] = entry[2],
      }, extra))
    end
    spent = wrk.format("GET", "/orders/42", with_extra({ ["Host"] = "orders.bench" }, extra))
    idx = 0
    return
  end
  if args[4] and args[4] ~= "-" then
    local bodies = lines(args[4])
    for i, body in ipairs(bodies) do
      local headers = with_extra({
        ["Host"] = "crm.bench",
        ["Authorization"] = "Bearer " .. pool[(i - 1) % #pool + 1],
        ["Content-Type"] = "application/json",
      }, extra)
      headers["Accept"] = "application/json, text/event-stream"
      prepared[i] = wrk.format("POST", "/mcp", headers, body)
    end
  else
    for i, token in ipairs(pool) do
      prepared[i] = wrk.format("GET", "/orders/42", with_extra(
        { ["Host"] = "orders.bench", ["Authorization"] = "Bearer " .. token }, extra))
    end
  end
  local offset = tonumber(args[2] or "0")
  idx = (offset + tid * math.floor(#prepared / nthreads)) % #prepared
end

function request()
  idx = idx + 1
  if idx > #prepared then
    if once then
      if exhausted == 0 then
        exhausted = 1
        wrk.thread:stop()
      end
      return spent
    end
    idx = 1
  end
  return prepared[idx]
end

function done(summary, latency, requests)
  local e = summary.errors
  local spent_threads = 0
  for _, thread in ipairs(threads) do
    spent_threads = spent_threads + (tonumber(thread:get("exhausted")) or 0)
  end
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"non_2xx_3xx":%d,"connect_errors":%d,' ..
    '"read_errors":%d,"write_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f,"exhausted":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read, e.write,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, spent_threads))
end
