-- wrk's script for scripts/bench.py and scripts/soak.py: every answer timed by its
-- status. Each request carries an X-Request-ID (stamp), which the site echoes; the
-- request() of each scenario is appended by bench.py.
local ffi = require("ffi")
ffi.cdef[[typedef struct { long s; long ns; } bench_ts; int clock_gettime(int, bench_ts *);]]
local ts = ffi.new("bench_ts")
function now_ms()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.s) * 1e3 + tonumber(ts.ns) / 1e6
end
local threads = {}
function setup(thread) table.insert(threads, thread); thread:set("id", #threads) end
function init(args) run = tonumber(args[1]) or 1; sent = 0; started = {}; codes = {} end
function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end
function client_ip(n)
  return string.format("10.%d.%d.%d", run % 256, (id * 37 + math.floor(n / 256)) % 256, n % 256)
end
function stamp(headers)
  sent = sent + 1
  local rid = string.format("bench-%d-%d-%d", run, id, sent)
  headers["X-Request-ID"] = rid
  started[rid] = now_ms()
end
-- One flat list per status, "t<status>": wrk copies flat tables between threads only.
function response(status, headers, body)
  local rid, key = headers["X-Request-ID"], "t" .. status
  codes[status] = true
  _G[key] = _G[key] or {}
  table.insert(_G[key], rid and started[rid] and now_ms() - started[rid] or -1)
  if rid then started[rid] = nil end
end
local function pct(list, q) return list[math.max(1, math.ceil(q * #list))] or -1 end
function done(summary, latency, requests)
  local parts, e = {}, summary.errors
  for k, _ in pairs(threads[1]:get("codes")) do
    local list = threads[1]:get("t" .. k)
    local timed = {}
    for _, v in ipairs(list) do if v >= 0 then table.insert(timed, v) end end
    table.sort(timed)
    table.insert(parts, string.format('"%s": {"n": %d, "timed": %d, "p50": %.1f, '
      .. '"p99": %.1f, "max": %.1f}', k, #list, #timed, pct(timed, 0.5), pct(timed, 0.99),
      timed[#timed] or -1))
  end
  io.write(string.format('WRK_JSON {"requests": %d, "duration_s": %.3f, "socket_errors": %d, '
    .. '"timeouts": %d, "p50": %.1f, "p99": %.1f, "statuses": {%s}}\n', summary.requests,
    summary.duration / 1e6, e.connect + e.read + e.write + e.timeout, e.timeout,
    latency:percentile(50) / 1e3, latency:percentile(99) / 1e3, table.concat(parts, ", ")))
end
