-- wrk script used by bench/run.py for every HTTP load run.
--
-- Settings come from the environment so that one script serves every target:
--   BENCH_METHOD     HTTP method, GET when unset
--   BENCH_BODY_FILE  file whose whole content is sent as the request body
-- Headers such as Authorization are passed with wrk's -H flag.
--
-- done() prints one line "BENCH_RESULT {json}" that bench/run.py parses, so
-- the figures do not depend on wrk's human-readable output.

local method = os.getenv("BENCH_METHOD") or "GET"
local body_file = os.getenv("BENCH_BODY_FILE")

wrk.method = method
if body_file and body_file ~= "" then
   local f = assert(io.open(body_file, "rb"))
   wrk.body = f:read("*a")
   f:close()
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, '
         .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, '
         .. '"mean_us": %.1f, "errors_connect": %d, "errors_read": %d, '
         .. '"errors_write": %d, "errors_status": %d, "errors_timeout": %d}\n',
      summary.requests, summary.duration, summary.bytes,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean, e.connect, e.read, e.write, e.status,
      e.timeout))
end
