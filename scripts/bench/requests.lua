-- wrk script: cycles through requests built once at start, so wrk spends as little per request
-- on every figure (the baseline uses it too). Environment:
--   BENCH_KIND   baseline | baseline_post | check | check_quota_draw | check_quota | check_batch | authz | resolve_prompt | resolve_flags
--                | usage | usage_batch | admin_write | flood (never-issued credentials on /v1/authz)
--                | check_uniform (each request a key drawn at random from the whole file)
--   BENCH_KEYS   the seeded keys file (`<tenant index> <key>` per line)
--   BENCH_ADMIN  the bearer credential that calls /v1/check (or /v1/resolve)
--   BENCH_RATE   optional: aim at this many requests/s over all connections (open-ish loop)
--   BENCH_CONNECTIONS  connections, to spread BENCH_RATE
local kind = os.getenv("BENCH_KIND")
local admin = os.getenv("BENCH_ADMIN") or ""
local keys = {}
for line in io.lines(os.getenv("BENCH_KEYS")) do
  keys[#keys + 1] = line:match("^%S+ (%S+)$")
end
local permissions = { "documents:write", "reports:export", "billing:read", "prompts:update", "admin:user", "workflow:execute" }
local uris = { "/documents/1", "/chat/abc", "/workflows/run/7", "/workflows", "/documents" }
local methods = { "GET", "POST", "POST", "GET", "DELETE" }
local prebuilt = {}
local count = 20000
math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16) % 100000)
local offset = math.random(#keys)
local function key(i) return keys[(offset + i * 7919) % #keys + 1] end
local json = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. admin }
for i = 1, kind == "check_uniform" and 0 or count do
  if kind == "baseline" then
    -- With a Host header: nginx (the second baseline) answers a request without one with 400.
    prebuilt[i] = wrk.format("GET", "/_bench/baseline", { ["Host"] = "127.0.0.1" })
  elseif kind == "baseline_post" then
    prebuilt[i] = wrk.format("POST", "/_bench/baseline", json,
      '{"credential":"' .. key(i) .. '","permission":"' .. permissions[i % #permissions + 1] .. '"}')
  elseif kind == "check" then
    prebuilt[i] = wrk.format("POST", "/v1/check", json,
      '{"credential":"' .. key(i) .. '","permission":"' .. permissions[i % #permissions + 1] .. '"}')
  elseif kind == "check_quota_draw" then
    -- The request draw alone: one request from the tenant's rate, nothing reserved.
    prebuilt[i] = wrk.format("POST", "/v1/check", json,
      '{"credential":"' .. key(i) .. '","permission":"documents:read","quota":{"requests":1}}')
  elseif kind == "check_quota" then
    prebuilt[i] = wrk.format("POST", "/v1/check", json,
      '{"credential":"' .. key(i) .. '","permission":"documents:read","quota":{"requests":1,"tokens_estimate":100}}')
  elseif kind == "check_batch" then
    if i > 1000 then break end
    local items = {}
    for j = 1, 100 do
      items[j] = '{"credential":"' .. key(i * 100 + j) .. '","permission":"' .. permissions[j % #permissions + 1] .. '"}'
    end
    prebuilt[i] = wrk.format("POST", "/v1/check", json, '{"items":[' .. table.concat(items, ",") .. ']}')
  elseif kind == "resolve_prompt" then
    prebuilt[i] = wrk.format("GET", "/v1/resolve/prompts/bench?subject=user-" .. (i * 7919 % 1000003),
      { ["Authorization"] = "Bearer " .. admin })
  elseif kind == "resolve_flags" then
    prebuilt[i] = wrk.format("POST", "/v1/resolve/flags", json, '{"subject":"user-' .. (i * 7919 % 1000003) .. '"}')
  elseif kind == "flood" then
    -- A third each: tagged keys with a wrong tag, untagged keys no one issued, JWT-shaped garbage.
    local alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    local function base62(n)
      local out = {}
      for j = 1, n do local c = math.random(62); out[j] = alphabet:sub(c, c) end
      return table.concat(out)
    end
    local garbage
    if i % 3 == 0 then garbage = "jvs_" .. base62(16) .. "_" .. base62(49)
    elseif i % 3 == 1 then garbage = "jvs_" .. base62(16) .. "_" .. base62(43)
    else garbage = "eyJ" .. base62(30) .. "." .. base62(60) .. "." .. base62(43) end
    prebuilt[i] = wrk.format("GET", "/v1/authz", {
      ["Authorization"] = "Bearer " .. garbage, ["X-Original-Method"] = "GET", ["X-Original-URI"] = "/documents/1" })
  elseif kind == "authz" then
    local r = i % #uris + 1
    prebuilt[i] = wrk.format("GET", "/v1/authz", {
      ["Authorization"] = "Bearer " .. key(i), ["X-Original-Method"] = methods[r], ["X-Original-URI"] = uris[r] })
  end
end
local n = 0
request = function()
  n = n % #prebuilt + 1
  return prebuilt[n]
end

local rate = tonumber(os.getenv("BENCH_RATE") or "")
if rate then
  local per = 1000 * tonumber(os.getenv("BENCH_CONNECTIONS")) / rate
  -- wrk waits whole milliseconds: alternate between the two neighbours to average `per`.
  delay = function()
    local low = math.floor(per)
    if math.random() < per - low then return low + 1 end
    return low
  end
end

if kind == "check_uniform" then
  -- Built per request: a prebuilt cycle would reuse a few thousand keys of the million.
  request = function()
    return wrk.format("POST", "/v1/check", json,
      '{"credential":"' .. keys[math.random(#keys)] .. '","permission":"' .. permissions[math.random(#permissions)] .. '"}')
  end
end

-- Usage ingestion: every request carries fresh idempotency keys (a repeated key is not stored
-- again, which would measure the duplicate path instead).
if kind == "admin_write" then
  -- An audited admin mutation: a new service account (one principal row, one audit event) each.
  local thread_tag = string.format("%x%x", os.time(), math.random(1, 2^30))
  local serial = 0
  local path = "/v1/tenants/" .. os.getenv("BENCH_TENANT") .. "/service-accounts"
  request = function()
    serial = serial + 1
    return wrk.format("POST", path, json, '{"name":"w-' .. thread_tag .. "-" .. serial .. '"}')
  end
end

if kind == "usage" or kind == "usage_batch" then
  local thread_tag = string.format("%x%x", os.time(), math.random(1, 2^30))
  local serial = 0
  local size = kind == "usage" and 1 or 1000
  local head = '{"model":"bench-model","model_version":"1.0.0","input_tokens":120,"output_tokens":80,"latency_ms":350,"status":"success","idempotency_key":"'
  request = function()
    local events = {}
    for j = 1, size do
      serial = serial + 1
      events[j] = head .. thread_tag .. "-" .. serial .. '"}'
    end
    local body = size == 1 and events[1] or ('{"events":[' .. table.concat(events, ",") .. "]}")
    return wrk.format("POST", "/v1/usage", json, body)
  end
end
