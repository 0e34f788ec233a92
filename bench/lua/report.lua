-- Shared by every benchmark script (loaded with dofile): at the end of a run, one line that
-- bench/wrk.py reads, with the counts and latency percentiles (microseconds).
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH-RESULT requests=%d duration_us=%d connect=%d read=%d write=%d status=%d timeout=%d "
      .. "p50_us=%d p95_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end

-- each wrk thread gets its own number (used to make keys distinct across threads)
local next_thread = 1
function setup(thread)
  thread:set("thread_number", next_thread)
  next_thread = next_thread + 1
end
