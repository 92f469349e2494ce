-- wrk script for `bridge-bench api`: the Zaqar v2 post/claim/delete mix.
--
-- wrk runs with one connection per thread (-t N -c N), so a thread's Lua
-- state IS one connection's state. Each connection loops over:
--   BENCH_POSTS single-message posts, one claim of up to BENCH_CLAIM_LIMIT
--   messages, then a DELETE (with claim_id) of every message it claimed.
-- Connection i works on queue i mod #queues.
--
-- The state only advances in response(): wrk calls request() once before
-- the run to check the script, and again after a reconnect, so request()
-- must just describe the current step without changing it.
--
-- Settings come from the environment (wrk's "--" script arguments do not
-- survive getopt's argument permutation reliably):
--   BENCH_QUEUES      comma-separated queue names (required)
--   BENCH_PROJECT     X-Project-Id value (default "bench")
--   BENCH_POSTS       posts per cycle (default 5)
--   BENCH_CLAIM_LIMIT messages per claim (default 5)
--
-- done() prints one line "BRIDGE-BENCH-RESULT {json}" that
-- bridge/bench/wrk.py parses: wrk's totals, latency percentiles (in
-- microseconds) and per-kind counters summed over all threads.

local RESULT_MARK = "BRIDGE-BENCH-RESULT "

-- Set by setup() through thread:set() before init() runs.
thread_index = 0

-- Per-connection counters; read back by done() with thread:get().
counts = {
   post_ok = 0, post_failed = 0,
   claim_ok = 0, claim_empty = 0, claim_failed = 0, claimed_messages = 0,
   delete_ok = 0, delete_failed = 0,
}
-- First failure seen per kind: "STATUS body-prefix", for the report.
first_failure = {}

local queue, messages_path, claims_path
local headers
local posts_per_cycle, claim_limit
local phase = "post"      -- "post", "claim" or "delete"
local posted = 0          -- posts done in the current cycle
local deletes = {}        -- hrefs (with claim_id) still to delete
local next_delete = 1
local seq = 0

local function split(csv)
   local items = {}
   for item in string.gmatch(csv, "[^,]+") do
      items[#items + 1] = item
   end
   return items
end

local function client_id(seed)
   math.randomseed(os.time() + seed * 7919)
   local function hex(n)
      local s = ""
      for _ = 1, n do
         s = s .. string.format("%x", math.random(0, 15))
      end
      return s
   end
   return hex(8) .. "-" .. hex(4) .. "-4" .. hex(3) .. "-a" .. hex(3) .. "-" .. hex(12)
end

local threads = {}

function setup(thread)
   thread:set("thread_index", #threads)
   threads[#threads + 1] = thread
end

function init(args)
   local queues = split(os.getenv("BENCH_QUEUES") or "")
   if #queues == 0 then
      error("BENCH_QUEUES must name at least one queue")
   end
   posts_per_cycle = tonumber(os.getenv("BENCH_POSTS") or "5")
   claim_limit = tonumber(os.getenv("BENCH_CLAIM_LIMIT") or "5")
   queue = queues[(thread_index % #queues) + 1]
   messages_path = "/v2/queues/" .. queue .. "/messages"
   claims_path = "/v2/queues/" .. queue .. "/claims?limit=" .. claim_limit
   headers = {
      ["Content-Type"] = "application/json",
      ["Accept"] = "application/json",
      ["Client-ID"] = client_id(thread_index),
      ["X-Project-Id"] = os.getenv("BENCH_PROJECT") or "bench",
   }
end

function request()
   if phase == "post" then
      local body = string.format(
         '{"messages": [{"ttl": 300, "body": {"event_type": "bench.post",' ..
         ' "connection": %d, "seq": %d}}]}', thread_index, seq)
      return wrk.format("POST", messages_path, headers, body)
   elseif phase == "claim" then
      return wrk.format("POST", claims_path, headers,
                        '{"ttl": 60, "grace": 60}')
   else
      return wrk.format("DELETE", deletes[next_delete], headers, nil)
   end
end

local function note_failure(kind, status, body)
   if first_failure[kind] == nil then
      first_failure[kind] = tostring(status) .. " " .. string.sub(body or "", 1, 200)
   end
end

local function claimed_hrefs(body)
   local hrefs = {}
   for href in string.gmatch(body, '"href"%s*:%s*"([^"]+)"') do
      if string.find(href, "claim_id=", 1, true) then
         hrefs[#hrefs + 1] = href
      end
   end
   return hrefs
end

function response(status, resp_headers, body)
   local ok = status >= 200 and status < 300
   if phase == "post" then
      seq = seq + 1
      if ok then
         counts.post_ok = counts.post_ok + 1
      else
         counts.post_failed = counts.post_failed + 1
         note_failure("post", status, body)
      end
      posted = posted + 1
      if posted >= posts_per_cycle then
         phase = "claim"
      end
   elseif phase == "claim" then
      posted = 0
      phase = "post"
      if status == 204 then
         counts.claim_empty = counts.claim_empty + 1
      elseif status == 201 or status == 200 then
         counts.claim_ok = counts.claim_ok + 1
         deletes = claimed_hrefs(body or "")
         next_delete = 1
         counts.claimed_messages = counts.claimed_messages + #deletes
         if #deletes > 0 then
            phase = "delete"
         else
            counts.claim_failed = counts.claim_failed + 1
            note_failure("claim", status, "no message href with claim_id in: " .. (body or ""))
         end
      else
         counts.claim_failed = counts.claim_failed + 1
         note_failure("claim", status, body)
      end
   else
      if ok then
         counts.delete_ok = counts.delete_ok + 1
      else
         counts.delete_failed = counts.delete_failed + 1
         note_failure("delete", status, body)
      end
      next_delete = next_delete + 1
      if next_delete > #deletes then
         phase = "post"
      end
   end
end

local function json_string(s)
   s = string.gsub(s, '[%c"\\]', function(c)
      return string.format("\\u%04x", string.byte(c))
   end)
   return '"' .. s .. '"'
end

local function json_object(t)
   local parts = {}
   for k, v in pairs(t) do
      local value
      if type(v) == "table" then
         value = json_object(v)
      elseif type(v) == "number" then
         value = string.format("%.17g", v)
      else
         value = json_string(tostring(v))
      end
      parts[#parts + 1] = json_string(tostring(k)) .. ": " .. value
   end
   return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, requests)
   local total = {}
   local failures = {}
   for _, thread in ipairs(threads) do
      for k, v in pairs(thread:get("counts")) do
         total[k] = (total[k] or 0) + v
      end
      for k, v in pairs(thread:get("first_failure")) do
         if failures[k] == nil then
            failures[k] = v
         end
      end
   end
   local result = {
      duration_us = summary.duration,
      requests = summary.requests,
      bytes = summary.bytes,
      socket_errors = {
         connect = summary.errors.connect,
         read = summary.errors.read,
         write = summary.errors.write,
         timeout = summary.errors.timeout,
      },
      status_errors = summary.errors.status,
      latency_us = {
         mean = latency.mean,
         max = latency.max,
         p50 = latency:percentile(50.0),
         p90 = latency:percentile(90.0),
         p99 = latency:percentile(99.0),
      },
      counts = total,
      first_failure = failures,
   }
   io.write(RESULT_MARK .. json_object(result) .. "\n")
end
