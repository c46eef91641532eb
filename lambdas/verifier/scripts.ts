/**
 * Server-side Lua used by the fast path. Scripts are read-only and run on ElastiCache (EVAL and
 * EVALSHA are allowed there; DEBUG is not). Keys come packed in one argument (the batch scripts)
 * or as arguments: as KEYS when cluster mode is disabled and as ARGV (after two option arguments)
 * in cluster mode, where a batch holds keys of many slots owned by one node. Scripts without a
 * shebang may touch such undeclared local keys on every engine version, while declared keys must
 * all hash to one slot (CROSSSLOT).
 */
import { createHash } from 'node:crypto';
import { STATE_TOKEN_LUA, TOKEN_LUA } from './tokens.js';

/**
 * ElastiCache's own key: every primary holds it and ElastiCache rewrites it continuously with its
 * own clock to measure replication lag, so a source and its restored copy always differ on it
 * (docs/aws-behaviour.md, "ElastiCache's own key"). It is not application data: scans leave it
 * out, so it is never compared, copied or deleted.
 */
export const ELASTICACHE_OWN_KEY = 'ElastiCacheMasterReplicationTimestamp';

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
-- Lua prints numbers with 14 significant digits: expiry times from the year 5138 on would
-- print alike while differing, so those are printed in full.
local function exact(ms)
  if ms >= 100000000000000 then return string.format('%.0f', ms) end
  return ms
end
local function expireAt(k)
  if usePexpiretime then return exact(redis.call('PEXPIRETIME', k)) end
  local ttl = redis.call('PTTL', k)
  if ttl >= 0 then return exact(now + ttl) end
  return ttl
end
`;

/** Per-key tokens (tokens.ts), one line each (joined by newlines: one bulk reply per batch). */
export const FAST_DIGEST_SCRIPT = `${KEY_LIST}${TOKEN_LUA}
local out = {}
for i = first, #keys do out[#out + 1] = token(keys[i]) end
return table.concat(out, '\\n')
`;

/**
 * Key lists travel packed: each key as a 4-byte big-endian length and its bytes, all in one
 * argument or one bulk reply. A batch of a thousand keys is then one buffer that the Lambda
 * passes from one server to the other without decoding it (the SCAN reply of the source goes
 * as is to the target), instead of a thousand arguments it must decode and encode again.
 * `struct` is one of the libraries every Redis OSS and Valkey engine gives scripts.
 */
const PACKING = `
local function unpackKeys(s)
  local keys, n, p, len = {}, 0, 1, #s
  local byte, sub = string.byte, string.sub
  while p <= len do
    local b1, b2, b3, b4 = byte(s, p, p + 3)
    local l = ((b1 * 256 + b2) * 256 + b3) * 256 + b4
    n = n + 1
    keys[n] = sub(s, p + 4, p + 3 + l)
    p = p + 4 + l
  end
  return keys
end
local function packKeys(keys)
  local parts, pack = {}, struct.pack
  for i = 1, #keys do parts[i] = pack('>I4', #keys[i]) .. keys[i] end
  return table.concat(parts)
end
`;

/**
 * One digest for a whole batch: the SHA-1 of every key's tag, DUMP payload (length-prefixed) or
 * content digest, and expiry, in key order. Both sides get the same keys in the same order, so
 * equal batch digests prove every key of the batch equal, except the `N` keys, which the reply
 * lists apart (notes `<index> <token>`, see tokens.ts) with their DUMP payloads, for the
 * Lambda to compare by their elements (see rdb.ts). One SHA-1 per batch instead of one per key,
 * and a reply of a few bytes: this is the common case, and the per-key tokens
 * (FAST_DIGEST_SCRIPT) are asked for only when a batch digest differs.
 * Reply: the digest, the `N` lines joined by newlines, then one DUMP payload per `N` line (empty
 * when over 1 MiB, or once the reply holds 8 MiB of them: the Lambda's memory stays bounded).
 */
const BATCH_FUNCTION = `${TOKEN_LUA}
local function batchDigest(keys)
  local parts, notes, payloads, p = {}, {}, {}, 0
  local budget = 8388608 -- payload bytes per reply; bigger keys are read in chunks instead
  -- The server's memory stays bounded too: once 4 MiB of payloads wait, they are hashed into
  -- a chain (SHA-1 of the previous link and the parts) and let go.
  local chain, held = '', 0
  for i = 1, #keys do
    local tag, body, expiry, payload = inspect(keys[i])
    if tag == 'D' then
      parts[p + 1] = #body; parts[p + 2] = body; parts[p + 3] = expiry; p = p + 3
      held = held + #body
      if held > 4194304 then
        chain = redis.sha1hex(chain .. table.concat(parts, '|'))
        parts, p, held = {}, 0, 0
      end
    elseif tag == 'C' then
      parts[p + 1] = 'C'; parts[p + 2] = body; parts[p + 3] = expiry; p = p + 3
    elseif tag == 'N' then
      notes[#notes + 1] = (i - 1) .. ' ' .. unproven(body, expiry)
      if #payload <= 1048576 and #payload <= budget then
        budget = budget - #payload
        payloads[#payloads + 1] = payload
      else
        payloads[#payloads + 1] = ''
      end
      parts[p + 1] = 'N'; p = p + 1
    else
      parts[p + 1] = '-'; p = p + 1
    end
  end
  local reply = {redis.sha1hex(chain .. table.concat(parts, '|')), table.concat(notes, '\\n')}
  for j = 1, #payloads do reply[j + 2] = payloads[j] end
  return reply
end
`;

/** Batch digest of packed keys. ARGV: expiry flag, small-unordered limit, packed keys. */
export const BATCH_DIGEST_SCRIPT = `${KEY_LIST}${PACKING}${BATCH_FUNCTION}
return batchDigest(unpackKeys(ARGV[3]))
`;

/**
 * One SCAN step, its keys packed, and (when ARGV[5] is '1') their batch digest: the forward
 * pass's source side reads and digests its keys in one call, and never gets them sent back.
 * ARGV: expiry flag, small-unordered limit, SCAN cursor, COUNT, digest flag.
 * Reply: cursor, packed keys, key count, batch digest reply (or '' when not asked for).
 */
export const SCAN_SCRIPT = `${KEY_LIST}${PACKING}${BATCH_FUNCTION}
local step = redis.call('SCAN', ARGV[3], 'COUNT', ARGV[4])
local found = {}
for _, k in ipairs(step[2]) do
  if k ~= '${ELASTICACHE_OWN_KEY}' then found[#found + 1] = k end
end
local digest = ''
if ARGV[5] == '1' then digest = batchDigest(found) end
return {step[1], packKeys(found), #found, digest}
`;

/**
 * The reverse pass's lookup on the source: which of the packed keys (ARGV[1]) do not exist,
 * as 0-based indices joined by commas ('' when all do). ARGV[2] '1' allows one multi-key
 * EXISTS per few thousand keys first (keys of many slots: cluster mode disabled only).
 */
export const EXISTS_PACKED_SCRIPT = `${PACKING}
local keys = unpackKeys(ARGV[1])
local n = #keys
if ARGV[2] == '1' then
  local present = 0
  for i = 1, n, 4000 do present = present + redis.call('EXISTS', unpack(keys, i, math.min(i + 3999, n))) end
  if present == n then return '' end
end
local absent = {}
for i = 1, n do
  if redis.call('EXISTS', keys[i]) == 0 then absent[#absent + 1] = i - 1 end
end
return table.concat(absent, ',')
`;

/**
 * Canonical content digest for keys whose DUMP bytes differ. Per key one line
 * `type\\texpireAt\\tlength\\tdigest`; the digest is empty when the key is larger than ARGV[2]
 * elements (or bytes / 64 for strings) or of a type without a canonical form here (streams,
 * modules): the Lambda then compares those by contents itself (tokens.ts reads the lines). Hash
 * fields and set members are
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

/**
 * The catch-up's read of keys to copy, atomic per key (a script runs alone): per key its DUMP
 * payload ('' when missing) and absolute expiry in ms (-1 none, -2 missing), read at copy time,
 * so the copy is never older than the source was when it was read.
 * Reply: payload, expiry, payload, expiry, ...
 */
export const COPY_READ_SCRIPT = `${KEY_LIST}
local out = {}
for i = first, #keys do
  local d = redis.call('DUMP', keys[i])
  if d then
    out[#out + 1] = d
    out[#out + 1] = tostring(expireAt(keys[i]))
  else
    out[#out + 1] = ''
    out[#out + 1] = '-2'
  end
end
return out
`;

/**
 * Writes copies only where the key still is what it was when its copy was decided (compare and
 * set), for the rollback's copy back onto a source that serves clients again: a key someone
 * wrote in between is left alone and counted as a conflict. ARGV: expiry flag, unused, then per
 * key four arguments: the key (undeclared: keys of one node, as the other scripts), the expected
 * token (SHA-1 of DUMP payload, '|' and absolute expiry; '-' for a missing key), the payload to
 * write ('' to delete) and its absolute expiry (ms, -1 none).
 * Reply: the 0-based indices of the keys left alone, joined by commas ('' when none).
 */
export const COMPARE_AND_COPY_SCRIPT = `${KEY_LIST}${STATE_TOKEN_LUA}
local conflicts = {}
for i = 3, #ARGV, 4 do
  local k, expected, payload, expiry = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  local d = redis.call('DUMP', k)
  local current = '-'
  if d then current = stateToken(d, expireAt(k)) end
  if current ~= expected then
    conflicts[#conflicts + 1] = (i - 3) / 4
  elseif payload == '' then
    redis.call('DEL', k)
  else
    local ttl = 0
    if expiry > 0 then ttl = expiry end
    redis.call('RESTORE', k, ttl, payload, 'REPLACE', 'ABSTTL')
  end
end
return table.concat(conflicts, ',')
`;

export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

function script(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * Read-only scripts declare it (Redis OSS 7.0+ / Valkey shebang): CLIENT PAUSE WRITE then lets
 * them run, so the data checks go on while the cutover holds the source's writes. Undeclared
 * scripts count as writes and wait out the pause. `allow-cross-slot-keys` keeps what scripts
 * without a shebang may do (touch keys of several slots of their node, in cluster mode).
 * Engines before 7.0 refuse the shebang and load the plain scripts.
 */
const READ_ONLY = '#!lua flags=no-writes,allow-cross-slot-keys\n';

const READ_SCRIPTS = {
  fastDigest: FAST_DIGEST_SCRIPT,
  batchDigest: BATCH_DIGEST_SCRIPT,
  scan: SCAN_SCRIPT,
  existsPacked: EXISTS_PACKED_SCRIPT,
  contentDigest: CONTENT_DIGEST_SCRIPT,
  copyRead: COPY_READ_SCRIPT,
} as const;

export type ScriptSet = Readonly<Record<keyof typeof READ_SCRIPTS, LuaScript>>;

/** The read scripts as every engine takes them. */
export const SCRIPTS: ScriptSet = Object.fromEntries(
  Object.entries(READ_SCRIPTS).map(([name, source]) => [name, script(source)]),
) as ScriptSet;

/** The read scripts declared read-only (engines 7.0+): they run during CLIENT PAUSE WRITE. */
export const READ_ONLY_SCRIPTS: ScriptSet = Object.fromEntries(
  Object.entries(READ_SCRIPTS).map(([name, source]) => [name, script(READ_ONLY + source)]),
) as ScriptSet;

/** The one script that writes (rollback's copy back). */
export const WRITE_SCRIPTS = { compareAndCopy: script(COMPARE_AND_COPY_SCRIPT) } as const;
