/**
 * Lua run atomically inside Redis. Index expiry uses the server clock (TIME), so
 * replicas with skewed clocks agree with Redis' own PEXPIRE. Index scores are
 * absolute expiry times in ms; members at or below "now" are expired.
 */

// Before Redis 5 a script must opt in to writing after a non-deterministic command.
const NOW = `
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

// Adds ARGV[member] to KEYS[i] expiring at now+ttl, drops expired members, and
// keeps the index key's own TTL equal to its last member's expiry.
const ADD_MEMBER_FN = `
local function add_member(index, member, ttl)
  redis.call('ZADD', index, now + ttl, member)
  redis.call('ZREMRANGEBYSCORE', index, '-inf', now)
  local last = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
  if last[2] then redis.call('PEXPIRE', index, tonumber(last[2]) - now) end
end
`;

/** KEYS[1]=key. Returns the value or nil; the key is gone afterwards. (GETDEL needs Redis 6.2.) */
export const TAKE = `
local v = redis.call('GET', KEYS[1])
if v then redis.call('DEL', KEYS[1]) end
return v
`;

/** KEYS[1]=index; ARGV[1]=member, ARGV[2]=ttlMs. */
export const INDEX_ADD = `${NOW}${ADD_MEMBER_FN}
add_member(KEYS[1], ARGV[1], tonumber(ARGV[2]))
return 1
`;

/** KEYS[1]=index; ARGV[1]=limit. Prunes, then returns live members soonest-expiring first. */
export const INDEX_MEMBERS = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
`;

/** KEYS[1]=value key, KEYS[2..n]=indexes; ARGV[1]=value, ARGV[2]=ttlMs, ARGV[3]=member. */
export const PUT_WITH_INDEXES = `${NOW}${ADD_MEMBER_FN}
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
for i = 2, #KEYS do add_member(KEYS[i], ARGV[3], ttl) end
return 1
`;

/**
 * Refresh-token rotation in one step, so a revocation (which writes the guard first)
 * can never fall between taking the old token and writing the new one.
 * KEYS[1]=guard, KEYS[2]=from, KEYS[3]=tombstone, KEYS[4]=to, then ARGV[1] indexes of
 * `from`, then the indexes of `to`. ARGV[1]=number of `from` indexes, ARGV[2]=tombstone
 * value, ARGV[3]=value, ARGV[4]=ttlMs, ARGV[5]=from member, ARGV[6]=to member.
 * Returns {'guarded'}, {'missing', tombstone-or-nil} or {'swapped'}.
 */
export const SWAP = `${NOW}${ADD_MEMBER_FN}
if redis.call('EXISTS', KEYS[1]) == 1 then return {'guarded'} end
if redis.call('EXISTS', KEYS[2]) == 0 then return {'missing', redis.call('GET', KEYS[3])} end
local nfrom = tonumber(ARGV[1])
local ttl = tonumber(ARGV[4])
redis.call('DEL', KEYS[2])
for i = 5, 4 + nfrom do redis.call('ZREM', KEYS[i], ARGV[5]) end
redis.call('SET', KEYS[3], ARGV[2], 'PX', ttl)
redis.call('SET', KEYS[4], ARGV[3], 'PX', ttl)
for i = 5 + nfrom, #KEYS do add_member(KEYS[i], ARGV[6], ttl) end
return {'swapped'}
`;
