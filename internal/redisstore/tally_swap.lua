-- Put a freshly built state in place of a motion's live state, atomically.
--
-- KEYS: the n temporary keys, then the n live keys in the same order.
-- ARGV[1]: absolute expiry in Unix milliseconds, or "0" for none.
-- ARGV[2..n+1]: how many fields each temporary key must hold.
-- Returns 0 (touching nothing) when a temporary key is missing or holds
-- another number of fields, e.g. it expired because the load stalled (and
-- a later round recreated part of it); 1 when the state was replaced.
-- Every step is O(1): the old state is UNLINKed, so the server frees it in
-- the background (RENAME onto it would free millions of fields inline).
local n = #KEYS / 2
for i = 1, n do
  if redis.call('HLEN', KEYS[i]) ~= tonumber(ARGV[i + 1]) then
    return 0
  end
end
redis.call('UNLINK', unpack(KEYS, n + 1, 2 * n))
for i = 1, n do
  redis.call('RENAME', KEYS[i], KEYS[n + i])
  if ARGV[1] == '0' then
    redis.call('PERSIST', KEYS[n + i])
  else
    redis.call('PEXPIREAT', KEYS[n + i], ARGV[1])
  end
end
return 1
