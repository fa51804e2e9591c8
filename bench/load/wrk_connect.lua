-- wrk_connect.lua: Connect unary POSTs to dossier-gateway, for the HTTP
-- rows of `make bench` (bench/load/run.sh).
--
--   WRK_METHOD=Get WRK_RECORDS=10000 wrk -s wrk_connect.lua URL
--   WRK_METHOD=Search WRK_QUERIES=FILE wrk -s wrk_connect.lua URL
--   WRK_FORMAT=proto: binary protobuf (application/proto), not JSON
--
-- Get asks for a random preloaded record ("bench-0000000" ...), as
-- dossier-bench does; Search for a random line of WRK_QUERIES (the
-- queries `dossier-bench --write-queries` prints, the ones dossier-bench
-- searches). JSON bodies, keep-alive (wrk's default). Every thread seeds
-- its own generator so threads do not ask the same sequence.
local method = os.getenv("WRK_METHOD") or "Get"
local records = tonumber(os.getenv("WRK_RECORDS") or "10000")
local format = os.getenv("WRK_FORMAT") or "json"
local queries = {}

local function load_queries(path)
  for line in io.lines(path) do
    if #line > 0 then
      queries[#queries + 1] = line
    end
  end
end

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init(args)
  math.randomseed(seed or os.time())
  wrk.method = "POST"
  wrk.path = "/dossier.v1.Reports/" .. method
  wrk.headers["Content-Type"] = "application/" .. format
  if method == "Search" then
    load_queries(os.getenv("WRK_QUERIES"))
  end
end

-- A protobuf string field 1 (GetRequest.id, SearchRequest.query): tag
-- 0x0a, a one-byte length (the texts here are under 128 bytes).
local function field1(text)
  return string.char(0x0a, #text) .. text
end

function request()
  local body
  if format == "proto" then
    if method == "Search" then
      body = field1(queries[math.random(#queries)])
    else
      body = field1(string.format("bench-%07d", math.random(0, records - 1)))
    end
  elseif method == "Search" then
    body = string.format('{"query":"%s"}',
                         queries[math.random(#queries)])
  else
    body = string.format('{"id":"bench-%07d"}', math.random(0, records - 1))
  end
  return wrk.format(nil, nil, nil, body)
end

-- One line run.sh reads: the latency percentiles in microseconds and the
-- non-2xx count, in dossier-bench's "summary:" form.
function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect +
                 summary.errors.read + summary.errors.write +
                 summary.errors.timeout
  io.write(string.format(
    "wrkline ops_s=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, errors))
end
