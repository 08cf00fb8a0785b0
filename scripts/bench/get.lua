-- wrk script: plain GETs of the URL wrk is given; reports percentiles in a machine-readable line.
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) ok = 0; other = 0 end
response = function(status) if status == 200 then ok = ok + 1 else other = other + 1 end end
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
