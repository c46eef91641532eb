/**
 * The key-token format: what the fast path's scripts say of one key, and how the Lambda reads
 * it. Both halves live here, the Lua that writes tokens (spliced into the scripts of scripts.ts)
 * and the TypeScript that reads them, so the format changes in one file.
 *
 * A key token is one of:
 * - `-`: the key does not exist;
 * - `D` + SHA-1 of the DUMP payload + absolute expiry (ms, -1 none): equal payloads prove equal
 *   keys;
 * - `C` + SHA-1 of the sorted contents + expiry: hashtable-encoded hashes and sets small enough to
 *   sort in the server, whose DUMP bytes depend on insertion history and the process's hash seed
 *   (docs/aws-behaviour.md): equal digests prove equal keys too;
 * - `N` + `h` (hash) or `s` (set) + element count (`?` when unknown) + `:` + expiry: bigger
 *   hashtable hashes and sets, no proof; they are compared by their elements.
 * Equal `D`, `C` and `-` tokens prove equal keys; anything else is compared further.
 *
 * Two more formats travel between the scripts and the Lambda:
 * - the batch digest's notes, one line per `N` key: `<0-based index> <token>`;
 * - the state token of a key being copied (the compare-and-copy's guard): SHA-1 of the DUMP
 *   payload, `|` and the absolute expiry as the script prints it; `-` for a missing key;
 * - the content digest line (CONTENT_DIGEST_SCRIPT): `type\texpireAt\tlength\tdigest`, or
 *   `none`; the digest is empty when the server did not compute one.
 */
import { createHash } from 'node:crypto';

/** The token of a missing key. */
export const MISSING_TOKEN = '-';

/** Hashtable-encoded hashes (`h`) and sets (`s`): no proof from their DUMP bytes. */
export type UnorderedType = 'h' | 's';

/** A parsed `N` token. */
export interface UnprovenToken {
  readonly type: UnorderedType;
  /** Element count; undefined when the token did not say (the path without scripts). */
  readonly count: number | undefined;
  /** Absolute expiry as printed (ms, -1 none). */
  readonly expiry: string;
}

/**
 * Lua: `inspect(k)` returns what the fast path knows of one key, as `tag, body, expiry[, payload]`
 * (`-`; `D`, DUMP payload, expiry; `C`, content digest, expiry; `N`, `h`/`s` + element count,
 * expiry, DUMP payload), and `unproven(body, expiry)` and `token(k)` print tokens. The encoding
 * is read from the DUMP payload's first byte (RDB type 4 = hash, 2 = set, both hashtable-encoded):
 * no extra command. Needs `expireAt(k)` (scripts.ts) and ARGV[2], the largest hash or set sorted
 * in the server.
 */
export const TOKEN_LUA = `
local small = tonumber(ARGV[2])
local function enc(s) return #s .. ':' .. s end
local function inspect(k)
  local d = redis.call('DUMP', k)
  if not d then return '-' end
  local rdbType = string.byte(d, 1)
  if rdbType == 4 or rdbType == 2 then
    local n
    if rdbType == 4 then n = redis.call('HLEN', k) else n = redis.call('SCARD', k) end
    if n > small then
      local t = 's'
      if rdbType == 4 then t = 'h' end
      return 'N', t .. n, expireAt(k), d
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
    return 'C', redis.sha1hex(table.concat(parts)), expireAt(k)
  end
  return 'D', d, expireAt(k)
end
local function unproven(body, expiry) return 'N' .. body .. ':' .. expiry end
local function token(k)
  local tag, body, expiry = inspect(k)
  if tag == '-' then return '-' end
  if tag == 'D' then return 'D' .. redis.sha1hex(body) .. expiry end
  if tag == 'C' then return 'C' .. body .. expiry end
  return unproven(body, expiry)
end
`;

/** Lua: `stateToken(payload, expiry)`, the state token of a present key (see the module comment). */
export const STATE_TOKEN_LUA = `
local function stateToken(payload, expiry) return redis.sha1hex(payload .. '|' .. tostring(expiry)) end
`;

const D = 0x44;
const C = 0x43;
const N = 0x4e;

/** Whether equal tokens on both sides prove the key equal (`D`, `C` or missing). */
export function isProof(token: string): boolean {
  const first = token.charCodeAt(0);
  return first === D || first === C || token === MISSING_TOKEN;
}

export function isMissing(token: string): boolean {
  return token === MISSING_TOKEN;
}

/** How the two tokens of one key settle it. */
export type TokenMatch =
  /** Proven equal. */
  | 'equal'
  /** Both `N` of the same type: compare their elements. */
  | 'unordered'
  /** Anything else: compare by contents. */
  | 'differ';

export function matchTokens(source: string, target: string): TokenMatch {
  if (source === target && isProof(source)) return 'equal';
  if (source.charCodeAt(0) === N && target.charCodeAt(0) === N && source[1] === target[1]) return 'unordered';
  return 'differ';
}

/** Reads an `N` token; undefined for any other token or a malformed one. */
export function parseUnproven(token: string): UnprovenToken | undefined {
  if (token.charCodeAt(0) !== N) return undefined;
  const type = token[1];
  const colon = token.indexOf(':', 2);
  if ((type !== 'h' && type !== 's') || colon < 0) return undefined;
  const countText = token.slice(2, colon);
  const expiry = token.slice(colon + 1);
  if (!/^-?\d+$/.test(expiry)) return undefined;
  if (countText === '?') return { type, count: undefined, expiry };
  if (!/^\d+$/.test(countText)) return undefined;
  return { type, count: Number(countText), expiry };
}

/** The `D` token of a DUMP payload's SHA-1 (hex) and absolute expiry. */
export function dumpToken(payloadSha1: string, expireAt: number | string): string {
  return `D${payloadSha1}${expireAt}`;
}

/** The `N` token of a hashtable hash or set; `count` undefined when it is not known. */
export function unprovenToken(
  type: UnorderedType,
  count: number | undefined,
  expireAt: number | string,
): string {
  return `N${type}${count ?? '?'}:${expireAt}`;
}

/** Reads one note of a batch digest (`<index> <N token>`). */
export function parseBatchNote(line: string): { index: number; token: UnprovenToken } | undefined {
  const space = line.indexOf(' ');
  if (space < 1) return undefined;
  const indexText = line.slice(0, space);
  const token = parseUnproven(line.slice(space + 1));
  if (!/^\d+$/.test(indexText) || !token) return undefined;
  return { index: Number(indexText), token };
}

/** The state token of a key read for copying; `expiry` as the script printed it. */
export function stateToken(payload: Buffer | null, expiry: string): string {
  if (payload === null) return MISSING_TOKEN;
  return createHash('sha1').update(payload).update('|').update(expiry).digest('hex');
}

/** Whether two content digest lines prove a key equal (a digest was computed, and it matches). */
export function contentDigestsProve(source: string, target: string): boolean {
  return source === target && source !== 'none' && !source.endsWith('\t');
}
