-- wrk script for scripts/bench. MODE=event (default) POSTs varied, realistic single events;
-- MODE=batch POSTs arrays of BATCH events (default 100); MODE=get GETs the URL as given. With CLIENTS=n,
-- each request of the pool carries X-Forwarded-For: one of n client addresses (for a server that trusts
-- 127.0.0.1 as its proxy), as traffic from many clients does.
-- Counts 200 answers across threads and prints one machine-readable BENCH line. Requests are
-- formatted once, at start, into a pool each thread cycles through (4,096 distinct events, or 64
-- distinct batches), so that wrk spends the same little CPU per request in every mode and the
-- comparison with GET measures the server, not the load generator's string formatting.
local sites = {"shop", "blog", "docs", "news", "demo", "store.example.com", "app:eu", "wiki"}
local types = {"view", "view", "view", "view", "click", "scroll", "signup:completed"}
local paths = {"/", "/pricing", "/blog/hello-world", "/docs/getting-started", "/signup", "/about",
               "/cart", "/search?q=swift+server", "/blog/2025/11/14/analytics", "/caf\195\169"}
local mode = os.getenv("MODE") or "event"
local batch = mode == "batch" and tonumber(os.getenv("BATCH") or "100") or 0
local clients = tonumber(os.getenv("CLIENTS") or "0")
local threads = {}
local next_id = 1

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  ok = 0
  other = 0
  math.randomseed(id * 7919)
end

local function event()
  local user = math.random(0, 4)
  local user_field = user == 0 and '"user_id":null' or string.format('"user_id":"user-%d"', math.random(1, 50000))
  return string.format(
    '{"site_id":"%s","event_type":"%s","path":"%s",%s,"timestamp":"2025-%02d-%02dT%02d:%02d:%02d.%03dZ"}',
    sites[math.random(#sites)], types[math.random(#types)], paths[math.random(#paths)], user_field,
    math.random(1, 12), math.random(1, 28), math.random(0, 23), math.random(0, 59), math.random(0, 59), math.random(0, 999))
end

local pool = {}
local cursor = 0

local function build()
  if mode == "get" then
    -- AUTHORIZATION (such as "Bearer rt_…") is sent as the Authorization header when set.
    local authorization = os.getenv("AUTHORIZATION")
    return wrk.format("GET", nil, authorization and {["Authorization"] = authorization} or nil)
  end
  local body
  if batch > 0 then
    local items = {}
    for i = 1, batch do items[i] = event() end
    body = "[" .. table.concat(items, ",") .. "]"
  else
    body = event()
  end
  local headers = {["Content-Type"] = "application/json"}
  if clients > 0 then
    local n = math.random(0, clients - 1)
    headers["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
  end
  return wrk.format("POST", nil, headers, body)
end

request = function()
  if #pool == 0 then
    local size = mode == "get" and 1 or (batch > 0 and 64 or 4096)
    for i = 1, size do pool[i] = build() end
  end
  cursor = cursor % #pool + 1
  return pool[cursor]
end

response = function(status, headers, body)
  if status == 200 then ok = ok + 1 else other = other + 1 end
end

done = function(summary, latency, requests)
  local accepted, refused = 0, 0
  for _, thread in ipairs(threads) do
    accepted = accepted + thread:get("ok")
    refused = refused + thread:get("other")
  end
  io.write(string.format("BENCH accepted=%d other=%d requests=%d errors=%d p50_us=%d p99_us=%d duration_us=%d\n",
    accepted, refused, summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), summary.duration))
end
