-- wrk script of benchmarks/load.py: sends a pregenerated list of distinct requests, closed or open loop, and
-- prints one JSON line (LOAD_RESULT ...) with what wrk measured and what this script counted.
--
-- Environment (set by load.py):
--   LOAD_REQUESTS  file with one request a line: path TAB Authorization header (may be empty) TAB JSON body;
--                  sent in order, each once (the list wraps around only if a run outlasts it: the repeated saves
--                  then fail and show as errors)
--   LOAD_RATE      open loop: requests a second on a fixed schedule (0 or unset: closed loop, each connection
--                  sends its next request as soon as it has the answer to the last one)
--   LOAD_BUDGET    send at most this many requests (0: no limit)
--   LOAD_SECONDS   send nothing after this many seconds (0: no limit)
--   LOAD_ERRORS    file the first answers other than 2xx are appended to (status TAB body), for the report
--   LOAD_FINISHED  file created once the sending is over and every request sent has its answer: load.py then
--                  stops wrk (SIGINT: wrk prints its results and calls done()); wrk's -d is only a backstop
--   LOAD_CONNECTIONS  wrk's -c, to tell whether wrk's own latency correction touched the histogram (done())
-- So every request sent is answered before wrk stops: the rows saved can be compared with the 2xx answers exactly.
--
-- wrk calls request() once before the run to check the request (script_verify_request): that call comes before any
-- delay() and is not counted. wrk 4 "corrects" latencies longer than twice a connection's mean interval
-- (stats_correct, for coordinated omission in closed loops); done() reports that threshold (corrected_above_ms) so
-- the report can say whether any latency was above it.
--
-- Open loop: the schedule is thread-wide (one wrk thread, -t1): request n is due at t0 + n / rate, whichever
-- connection is free takes it. With more connections than rate x latency the requests leave on schedule whatever
-- the server's latency; when every connection is busy they leave late, and the script says so (lag_max_ms,
-- lag_over_5ms). Either way there is no coordinated omission in the figures: besides wrk's latency (from the moment
-- a request is sent) the script measures each successful save's latency from its slot on the schedule
-- (schedule_ms: matched by the "visit" id the request sends and the answer repeats).

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } load_timespec;
int clock_gettime(int clock_id, load_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("load_timespec")

local function now_ms()
    ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
    return tonumber(timespec.tv_sec) * 1000 + tonumber(timespec.tv_nsec) / 1e6
end

local rate = tonumber(os.getenv("LOAD_RATE") or "0") or 0
local budget = tonumber(os.getenv("LOAD_BUDGET") or "0") or 0
local seconds = tonumber(os.getenv("LOAD_SECONDS") or "0") or 0
local errors_file = os.getenv("LOAD_ERRORS")
local finished_file = os.getenv("LOAD_FINISHED")
local connections = tonumber(os.getenv("LOAD_CONNECTIONS") or "1") or 1
local FAR = 3600 * 1000 -- the delay of a connection with nothing left to send (the run ends before)

local requests, visits = {}, {}
for line in io.lines(os.getenv("LOAD_REQUESTS")) do
    local path, authorization, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    if path then
        local headers = { ["Content-Type"] = "application/json", ["X-Forwarded-Proto"] = "https" }
        if authorization ~= "" then
            headers["Authorization"] = authorization
        end
        requests[#requests + 1] = wrk.format("POST", path, headers, body)
        visits[#requests] = body:match('"visit":(%d+)')
    end
end

-- Counters of this thread, globals so that done() can read them with thread:get().
sent, answered, lag_max_ms, lag_over_5ms, logged = 0, 0, 0, 0, 0
first_send_ms, last_send_ms, last_response_ms = 0, 0, 0
statuses = {}
schedule_ms = {} -- latency of each answered save from its slot on the schedule (open loop)
local due_of = {} -- visit id -> the slot of the request that saves it
local index, slots, t0, over, told = 0, 0, nil, false, false

local function finished(now)
    return (budget > 0 and slots >= budget) or (seconds > 0 and t0 ~= nil and now - t0 >= seconds * 1000)
end

local function tell_if_finished()
    if over and not told and answered >= sent and finished_file then
        told = true
        local out = io.open(finished_file, "w")
        if out then
            out:close()
        end
    end
end

function delay()
    local now = now_ms()
    if t0 == nil then
        t0 = now
    end
    if finished(now) then
        over = true
        tell_if_finished()
        return FAR
    end
    local slot = slots
    slots = slots + 1
    if rate <= 0 then
        return 0
    end
    local due = t0 + slot * 1000 / rate
    if due > now then
        return math.floor(due - now + 0.5)
    end
    return 0
end

function request()
    if t0 == nil then -- wrk checking the request before the run (no delay() yet): not sent
        return requests[1]
    end
    local now = now_ms()
    index = index % #requests + 1
    sent = sent + 1
    if sent == 1 then
        first_send_ms = now
    end
    last_send_ms = now
    if rate > 0 then -- how late this request leaves against its slot on the schedule
        local due = t0 + (sent - 1) * 1000 / rate
        if visits[index] then
            due_of[visits[index]] = due
        end
        local lag = now - due
        if lag > lag_max_ms then
            lag_max_ms = lag
        end
        if lag > 5 then
            lag_over_5ms = lag_over_5ms + 1
        end
    end
    return requests[index]
end

function response(status, headers, body)
    answered = answered + 1
    last_response_ms = now_ms()
    local key = tostring(status)
    if rate > 0 and body then
        local due = due_of[body:match('"visit":(%d+)') or ""]
        if due then
            schedule_ms[#schedule_ms + 1] = last_response_ms - due
        end
    end
    statuses[key] = (statuses[key] or 0) + 1
    if (status < 200 or status > 299) and errors_file and logged < 20 then
        logged = logged + 1
        local out = io.open(errors_file, "a")
        if out then
            out:write(key, "\t", (body or ""):sub(1, 500):gsub("[\r\n\t]", " "), "\n")
            out:close()
        end
    end
    tell_if_finished()
end

local threads = {}

function setup(thread)
    threads[#threads + 1] = thread
end

function done(summary, latency, _)
    local total = { sent = 0, answered = 0, lag_over_5ms = 0 }
    local first, last_send, last, lag_max = nil, 0, 0, 0
    local by_status, from_schedule = {}, {}
    for _, thread in ipairs(threads) do
        for _, name in ipairs({ "sent", "answered", "lag_over_5ms" }) do
            total[name] = total[name] + thread:get(name)
        end
        local started = thread:get("first_send_ms")
        if started > 0 and (first == nil or started < first) then
            first = started
        end
        last_send = math.max(last_send, thread:get("last_send_ms"))
        last = math.max(last, thread:get("last_response_ms"))
        lag_max = math.max(lag_max, thread:get("lag_max_ms"))
        for status, count in pairs(thread:get("statuses")) do
            by_status[status] = (by_status[status] or 0) + count
        end
        for _, value in ipairs(thread:get("schedule_ms")) do
            from_schedule[#from_schedule + 1] = value
        end
    end
    table.sort(from_schedule)
    local function nearest_rank(fraction) -- as benchmarks/common.py's percentile
        if #from_schedule == 0 then
            return 0
        end
        local rank = math.floor(fraction * #from_schedule + 0.5 + 0.5) -- round(fraction * n + 0.5)
        return from_schedule[math.max(1, math.min(#from_schedule, rank))]
    end
    local statuses_json = {}
    for status, count in pairs(by_status) do
        statuses_json[#statuses_json + 1] = string.format('"%s": %d', status, count)
    end
    local e = summary.errors
    -- stats_correct's threshold: twice runtime / (requests / connections); no latency above it, no correction
    local per_connection = math.floor(summary.requests / connections)
    local corrected_above = per_connection > 0 and 2 * summary.duration / per_connection / 1000 or 0
    io.write(string.format(
        'LOAD_RESULT {"requests": %d, "duration_us": %d, "sent": %d, "answered": %d, "statuses": {%s}, '
        .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
        .. '"latency_us": {"min": %d, "mean": %.1f, "p50": %d, "p95": %d, "p99": %d, "max": %d}, '
        .. '"active_ms": %.3f, "sending_ms": %.3f, "lag_max_ms": %.3f, "lag_over_5ms": %d, '
        .. '"corrected_above_ms": %.3f, "schedule_ms": {"count": %d, "p50": %.3f, "p95": %.3f, "p99": %.3f, '
        .. '"max": %.3f}}\n',
        summary.requests, summary.duration, total.sent, total.answered, table.concat(statuses_json, ", "),
        e.connect, e.read, e.write, e.status, e.timeout,
        latency.min, latency.mean, latency:percentile(50), latency:percentile(95), latency:percentile(99),
        latency.max, first and (last - first) or 0, first and (last_send - first) or 0, lag_max,
        total.lag_over_5ms, corrected_above, #from_schedule, nearest_rank(0.50), nearest_rank(0.95),
        nearest_rank(0.99), from_schedule[#from_schedule] or 0))
end
