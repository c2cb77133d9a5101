-- wrk script of bench.point_lookup: each request is a random line of a file.
--
--   wrk -t1 -c16 -d3s -s bench/wrk_random.lua http://127.0.0.1:PORT/graphql -- LINES METHOD EXPECT
--
-- LINES: a file with one request a line: a JSON body (METHOD POST, sent to the URL's
-- path) or a path with its query string (METHOD GET). EXPECT: a string every good
-- answer contains. An answer that is not 200, lacks EXPECT or contains "errors"
-- counts as a failure. done() prints one line starting with WRKJSON: the counts and
-- the latency percentiles (microseconds) the benchmark reads.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   lines = {}
   for line in io.lines(args[1]) do
      if #line > 0 then
         lines[#lines + 1] = line
      end
   end
   method = args[2]
   expect = args[3]
   failures = 0
   first_failure = ""
   math.randomseed(os.time() + os.clock() * 1000000)
end

function request()
   local line = lines[math.random(#lines)]
   if method == "GET" then
      return wrk.format("GET", line)
   end
   return wrk.format("POST", nil, nil, line)
end

function response(status, headers, body)
   if status ~= 200 or not string.find(body, expect, 1, true)
      or string.find(body, '"errors"', 1, true) then
      failures = failures + 1
      if first_failure == "" then
         first_failure = status .. " " .. string.sub(body, 1, 300)
      end
   end
end

local function quote(s)
   s = string.gsub(s, '[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end)
   return '"' .. s .. '"'
end

function done(summary, latency, requests)
   local failed, first = 0, ""
   for _, thread in ipairs(threads) do
      failed = failed + thread:get("failures")
      if first == "" then
         first = thread:get("first_failure")
      end
   end
   local e = summary.errors
   io.write(string.format(
      'WRKJSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
      '"max_us": %d, "socket_errors": %d, "non_2xx": %d, "timeouts": %d, ' ..
      '"failures": %d, "first_failure": %s}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      latency.max, e.connect + e.read + e.write, e.status, e.timeout, failed, quote(first)))
end
