-- Apply one household's counted vote to a motion's live tally, atomically.
--
-- KEYS: meta hh cur gv gopt oh oa ov split (see tally.go for the layout)
-- ARGV: household id, version (16 hex digits, ordered like the int64),
--       option names (any number, duplicates and unknown names allowed)
-- Returns -1 when the motion is not (fully) loaded, 0 when the vote was
-- ignored (household outside the electorate, stale or repeated version),
-- 1 when it was recorded.
--
-- Household ids, group ids and versions stay strings: Lua numbers are
-- doubles and would round int64 values above 2^53. Only counts and areas
-- (bounded by Load) are turned into numbers.

-- Every key always holds at least the placeholder field "_", so a missing
-- key means the state was never loaded, dropped, expired or evicted.
if redis.call('EXISTS', unpack(KEYS)) ~= #KEYS then
  return -1
end
local meta, hh, cur, gv, gopt, oh, oa, ov, split =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local hid, ver = ARGV[1], ARGV[2]

local info = redis.call('HGET', hh, hid)
if not info then
  return 0 -- not in the electorate
end
local bar = string.find(info, '|', 1, true)
local g = string.sub(info, 1, bar - 1)
local area = tonumber(string.sub(info, bar + 1))

-- newer reports a > b for two versions of the same width, byte by byte
-- (Lua's < on strings follows the server's collation locale).
local function newer(a, b)
  for i = 1, #a do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then
      return x > y
    end
  end
  return false
end

-- The household's counted options so far (sorted option indices).
local old = {}
local held = redis.call('HGET', cur, hid)
if held then
  bar = string.find(held, '|', 1, true)
  if not newer(ver, string.sub(held, 1, bar - 1)) then
    return 0 -- stale or repeated version: the first one applied wins
  end
  for x in string.gmatch(string.sub(held, bar + 1), '%d+') do
    old[#old + 1] = tonumber(x)
  end
end

-- HMGET in slices so that unpack stays far below Lua's C stack limit.
local function hmget(key, fields)
  local out = {}
  for i = 1, #fields, 500 do
    local part = redis.call('HMGET', key, unpack(fields, i, math.min(i + 499, #fields)))
    for j = 1, #part do
      out[#out + 1] = part[j]
    end
  end
  return out
end

-- The new options: known ones only, deduplicated, in index order.
local new = {}
if #ARGV > 2 then
  local f = {}
  for i = 3, #ARGV do
    f[#f + 1] = 'o:' .. ARGV[i]
  end
  local idx = hmget(meta, f)
  local seen = {}
  for i = 1, #idx do
    local x = idx[i]
    if x then
      x = tonumber(x)
      if not seen[x] then
        seen[x] = true
        new[#new + 1] = x
      end
    end
  end
  table.sort(new)
end

local enc = table.concat(new, ',')
redis.call('HSET', cur, hid, ver .. '|' .. enc)
if enc == table.concat(old, ',') then
  return 1 -- same choice at a newer version: nothing to recount
end

-- The owner group's state: v0 voting households, cnt[i] of them chose i.
local n = tonumber(redis.call('HGET', meta, 'n'))
local v0 = tonumber(redis.call('HGET', gv, g) or '0')
local cnt = {}
do
  local f = {}
  for i = 1, n do
    f[i] = g .. '|' .. i
  end
  local c = hmget(gopt, f)
  for i = 1, n do
    cnt[i] = tonumber(c[i] or '0')
  end
end

-- HINCRBY that drops fields reaching zero, so hashes only hold live
-- entries and reads stay small. A zero step is skipped: Redis prints a Lua
-- -0 (e.g. the negated area 0) as "-0", which HINCRBY rejects.
local function incr(key, field, by)
  if by == 0 then
    return
  end
  if redis.call('HINCRBY', key, field, by) == 0 then
    redis.call('HDEL', key, field)
  end
end

-- Take out the group's head shares: cnt[i] households at 1/v0 each.
if v0 > 0 then
  for i = 1, n do
    if cnt[i] > 0 then
      incr(ov, i .. '|' .. v0, -cnt[i])
    end
  end
end

-- Move the household itself.
for _, o in ipairs(old) do
  cnt[o] = cnt[o] - 1
  incr(oh, o, -1)
  incr(oa, o, -area)
end
for _, o in ipairs(new) do
  cnt[o] = cnt[o] + 1
  incr(oh, o, 1)
  incr(oa, o, area)
end

local d = (#new > 0 and 1 or 0) - (#old > 0 and 1 or 0)
local v1 = v0 + d
if d ~= 0 then
  redis.call('HINCRBY', meta, 'vh', d)
  if area ~= 0 then
    redis.call('HINCRBY', meta, 'va', d * area)
  end
  if v0 == 0 then
    redis.call('HINCRBY', meta, 'vhd', 1)
  elseif v1 == 0 then
    redis.call('HINCRBY', meta, 'vhd', -1)
  end
end

-- Put back the group's head shares at 1/v1 each.
if v1 > 0 then
  for i = 1, n do
    if cnt[i] > 0 then
      incr(ov, i .. '|' .. v1, cnt[i])
    end
  end
end

-- Store the group's counts.
local touched = {}
for _, o in ipairs(old) do
  touched[o] = true
end
for _, o in ipairs(new) do
  touched[o] = true
end
for o in pairs(touched) do
  if cnt[o] > 0 then
    redis.call('HSET', gopt, g .. '|' .. o, cnt[o])
  else
    redis.call('HDEL', gopt, g .. '|' .. o)
  end
end
if v1 > 0 then
  redis.call('HSET', gv, g, v1)
else
  redis.call('HDEL', gv, g)
end

-- The group is split unless every option was chosen by none or by all of
-- its voting households (then all of them chose the same set).
local sp = false
if v1 > 1 then
  for i = 1, n do
    if cnt[i] > 0 and cnt[i] < v1 then
      sp = true
      break
    end
  end
end
if sp then
  redis.call('HSET', split, g, '1')
else
  redis.call('HDEL', split, g)
end
return 1
