/**
 * Server-side Lua used by the fast path. Scripts are read-only and run on ElastiCache (EVAL and
 * EVALSHA are allowed there; DEBUG is not). Keys come as KEYS when cluster mode is disabled and as
 * ARGV (after two option arguments) in cluster mode, where a batch holds keys of many slots owned
 * by one node: scripts without a shebang may touch such undeclared local keys on every engine
 * version, while declared keys must all hash to one slot (CROSSSLOT).
 */
import { createHash } from 'node:crypto';

const KEY_LIST = `
local keys = KEYS
local first = 1
if #keys == 0 then keys = ARGV; first = 3 end
local usePexpiretime = ARGV[1] == '1'
local now = 0
if not usePexpiretime then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function expireAt(k)
  if usePexpiretime then return redis.call('PEXPIRETIME', k) end
  local ttl = redis.call('PTTL', k)
  if ttl >= 0 then return now + ttl end
  return ttl
end
`;

/**
 * The fast path. Per key one line:
 * - `-`: the key does not exist;
 * - `D` + SHA-1 of the DUMP payload + absolute expiry (ms, -1 none): equal lines prove equal keys;
 * - `C` + SHA-1 of the sorted contents + expiry, for hashtable-encoded hashes and sets of at most
 *   ARGV[2] elements, whose DUMP bytes depend on insertion history (aws-notes): equal lines prove
 *   equal keys too;
 * - `N` + `h` or `s` + element count + `:` + expiry, for bigger hashtable hashes and sets: no proof,
 *   the Lambda compares those by contents (cheaper there than sorting in the server).
 * The encoding is read from the DUMP payload's first byte (RDB type 4 = hash, 2 = set, both
 * hashtable-encoded): no extra command. Lines are joined by newlines: one bulk reply per batch.
 * ARGV[1]: '1' to read expiry with PEXPIRETIME, else PTTL + TIME.
 */
const DIGEST_FUNCTION = `
local small = tonumber(ARGV[2])
local function enc(s) return #s .. ':' .. s end
local function digest(k)
  local d = redis.call('DUMP', k)
  if not d then return '-' end
  local rdbType = string.byte(d, 1)
  if rdbType == 4 or rdbType == 2 then
    local n
    if rdbType == 4 then n = redis.call('HLEN', k) else n = redis.call('SCARD', k) end
    if n > small then
      local t = 's'
      if rdbType == 4 then t = 'h' end
      return 'N' .. t .. n .. ':' .. expireAt(k)
    end
    local parts = {}
    if rdbType == 4 then
      local a = redis.call('HGETALL', k)
      for j = 1, #a, 2 do parts[#parts + 1] = enc(a[j]) .. enc(a[j + 1]) end
    else
      local a = redis.call('SMEMBERS', k)
      for j = 1, #a do parts[j] = enc(a[j]) end
    end
    table.sort(parts)
    return 'C' .. redis.sha1hex(table.concat(parts)) .. expireAt(k)
  end
  return 'D' .. redis.sha1hex(d) .. expireAt(k)
end
`;

export const FAST_DIGEST_SCRIPT = `${KEY_LIST}${DIGEST_FUNCTION}
local out = {}
for i = first, #keys do out[#out + 1] = digest(keys[i]) end
return table.concat(out, '\\n')
`;

/**
 * One SCAN step and the fast-path lines of the keys it returned, in one call: the forward pass's
 * source side never sends keys back to the server it read them from. Reply: cursor, keys, lines.
 * ARGV: expiry flag, small-unordered limit, SCAN cursor, COUNT.
 */
export const SCAN_DIGEST_SCRIPT = `${KEY_LIST}${DIGEST_FUNCTION}
local step = redis.call('SCAN', ARGV[3], 'COUNT', ARGV[4])
local out = {}
for i = 1, #step[2] do out[i] = digest(step[2][i]) end
return {step[1], step[2], table.concat(out, '\\n')}
`;

/**
 * Canonical content digest for keys whose DUMP bytes differ. Per key one line
 * `type\\texpireAt\\tlength\\tdigest`; the digest is empty when the key is larger than ARGV[2]
 * elements (or bytes / 64 for strings) or of a type without a canonical form here (streams,
 * modules): the Lambda then compares those by contents itself. Hash fields and set members are
 * sorted, so equal contents give equal digests whatever the encoding or insertion order.
 */
export const CONTENT_DIGEST_SCRIPT = `${KEY_LIST}
local limit = tonumber(ARGV[2])
local function enc(s) return #s .. ':' .. s end
local function sorted(parts) table.sort(parts); return redis.sha1hex(table.concat(parts)) end
local out = {}
for i = first, #keys do
  local k = keys[i]
  local t = redis.call('TYPE', k)['ok']
  if t == 'none' then
    out[#out + 1] = 'none'
  else
    local n, dg = 0, ''
    if t == 'string' then
      n = redis.call('STRLEN', k)
      if n <= limit * 64 then dg = redis.sha1hex(redis.call('GET', k)) end
    elseif t == 'hash' then
      n = redis.call('HLEN', k)
      if n <= limit then
        local a = redis.call('HGETALL', k)
        local parts = {}
        for j = 1, #a, 2 do parts[#parts + 1] = enc(a[j]) .. enc(a[j + 1]) end
        dg = sorted(parts)
      end
    elseif t == 'set' then
      n = redis.call('SCARD', k)
      if n <= limit then
        local a = redis.call('SMEMBERS', k)
        local parts = {}
        for j = 1, #a do parts[j] = enc(a[j]) end
        dg = sorted(parts)
      end
    elseif t == 'zset' then
      n = redis.call('ZCARD', k)
      if n <= limit then
        local a = redis.call('ZRANGE', k, 0, -1, 'WITHSCORES')
        local parts = {}
        for j = 1, #a, 2 do parts[#parts + 1] = enc(a[j]) .. enc(a[j + 1]) end
        dg = redis.sha1hex(table.concat(parts))
      end
    elseif t == 'list' then
      n = redis.call('LLEN', k)
      if n <= limit then
        local a = redis.call('LRANGE', k, 0, -1)
        local parts = {}
        for j = 1, #a do parts[j] = enc(a[j]) end
        dg = redis.sha1hex(table.concat(parts))
      end
    end
    out[#out + 1] = t .. '\\t' .. string.format('%.0f', expireAt(k)) .. '\\t' .. n .. '\\t' .. dg
  end
end
return table.concat(out, '\\n')
`;

/** One character per key, '1' when it exists: the reverse pass's lookup on the source. */
export const EXISTS_SCRIPT = `
local keys = KEYS
local first = 1
if #keys == 0 then keys = ARGV; first = 3 end
local out = {}
for i = first, #keys do out[#out + 1] = tostring(redis.call('EXISTS', keys[i])) end
return table.concat(out)
`;

export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

function script(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

export const SCRIPTS = {
  fastDigest: script(FAST_DIGEST_SCRIPT),
  scanDigest: script(SCAN_DIGEST_SCRIPT),
  contentDigest: script(CONTENT_DIGEST_SCRIPT),
  exists: script(EXISTS_SCRIPT),
} as const;
