-- Put a freshly built state in place of a motion's live state, atomically.
--
-- KEYS: the n temporary keys, then the n live keys in the same order.
-- ARGV[1]: absolute expiry in Unix milliseconds, or "0" for none.
-- Returns 0 (touching nothing) when a temporary key is missing, e.g. it
-- expired because the load stalled; 1 when the state was replaced.
local n = #KEYS / 2
if redis.call('EXISTS', unpack(KEYS, 1, n)) ~= n then
  return 0
end
for i = 1, n do
  redis.call('RENAME', KEYS[i], KEYS[n + i])
  if ARGV[1] == '0' then
    redis.call('PERSIST', KEYS[n + i])
  else
    redis.call('PEXPIREAT', KEYS[n + i], ARGV[1])
  end
end
return 1
