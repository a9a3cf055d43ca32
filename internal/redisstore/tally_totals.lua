-- Read a motion's live totals in one step.
--
-- KEYS: meta hh cur gv gopt oh oa ov split
-- Returns nil when the motion is not (fully) loaded, otherwise the fields
-- of meta, oh, oa, ov and split: O(options × distinct group turnouts +
-- split groups), never the households or ballots (hh, cur, gv, gopt are
-- only checked for existence).
if redis.call('EXISTS', unpack(KEYS)) ~= #KEYS then
  return false
end
return {
  redis.call('HGETALL', KEYS[1]),
  redis.call('HGETALL', KEYS[6]),
  redis.call('HGETALL', KEYS[7]),
  redis.call('HGETALL', KEYS[8]),
  redis.call('HGETALL', KEYS[9]),
}
