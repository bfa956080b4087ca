-- wrk's script for scripts/bench: what each run sends, and one machine-readable RESULT line.
-- Set by environment: BENCH_MODE (get | post | tokens | notify_first | notify_dup | checkout),
-- BENCH_FILE (one body or token a line), BENCH_PATH (a path; %s is a token), BENCH_THREADS
-- (wrk's -t), BENCH_LIMIT (requests per thread, then the thread stops; 0: no limit).
local mode = os.getenv("BENCH_MODE") or "get"
local file = os.getenv("BENCH_FILE")
local path = os.getenv("BENCH_PATH") or "/"
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
local limit = tonumber(os.getenv("BENCH_LIMIT") or "0")

local next_id = 0
local threads = {}

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local lines = {}
local sent = 0
fails = 0
distinct = 0

function init(args)
  if file and file ~= "" then
    for line in io.lines(file) do
      table.insert(lines, line)
    end
  end
  math.randomseed(1234 + tid)
end

local xml = { ["Content-Type"] = "text/xml" }
local form = { ["Content-Type"] = "application/x-www-form-urlencoded" }

-- the body of this thread's k-th order (orders are dealt to threads in turn)
local function own(k)
  local i = tid + k * nthreads
  if i >= #lines then
    return nil
  end
  return lines[i + 1]
end

function request()
  sent = sent + 1
  if limit > 0 and sent > limit then
    wrk.thread:stop()
  end
  if mode == "post" then
    return wrk.format("POST", path, form, "n=" .. sent)
  elseif mode == "tokens" then
    local t = lines[(sent + tid * 7) % #lines + 1]
    return wrk.format("GET", string.format(path, t))
  elseif mode == "notify_first" then
    -- every notification is the first for its order; the thread stops when it has no more
    local body = own(sent - 1)
    if body == nil then
      wrk.thread:stop()
      body = own(0)
    else
      distinct = sent
    end
    return wrk.format("POST", path, xml, body)
  elseif mode == "notify_dup" then
    -- 1 in 25 is the first for a new order (4 %), the others repeat one of the thread's orders
    -- already notified (96 %), as WeChat's retries do; past the file's end, all repeat
    local j = sent - 1
    local k = math.floor(j / 25)
    local body
    if j % 25 == 0 then
      body = own(k)
      if body ~= nil then
        distinct = k + 1
      end
    end
    if body == nil then
      body = own(math.random(0, math.max(0, math.min(k, distinct - 1))))
    end
    return wrk.format("POST", path, xml, body)
  elseif mode == "checkout" then
    return wrk.format("POST", path, form,
      "product=canvas-tote&qty=1&name=bench&phone=13800138000&address=1+Bench+Road")
  end
  return wrk.format("GET", path)
end

if mode == "notify_first" or mode == "notify_dup" then
  function response(status, headers, body)
    if not string.find(body, "SUCCESS", 1, true) then
      fails = fails + 1
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local f, d = 0, 0
  for _, t in ipairs(threads) do
    f = f + (t:get("fails") or 0)
    d = d + (t:get("distinct") or 0)
  end
  io.write(string.format("RESULT %d %.3f %d %d %d %d %d\n", summary.requests, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(99), e.connect + e.read + e.write + e.status + e.timeout, f, d))
end
