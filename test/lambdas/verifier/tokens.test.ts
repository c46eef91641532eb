import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_DIGEST_SCRIPT } from '../../../lambdas/verifier/scripts.js';
import {
  contentDigestsProve,
  dumpToken,
  isProof,
  MISSING_TOKEN,
  matchTokens,
  parseBatchNote,
  parseUnproven,
  STATE_TOKEN_LUA,
  stateToken,
  unprovenToken,
} from '../../../lambdas/verifier/tokens.js';
import { type RedisServer, startRedisServer, stopAll } from '../../../sandbox/redis/server.js';

const SHA = 'a'.repeat(40);

describe('key tokens', () => {
  it('prove a key equal only when both sides give the same D, C or missing token', () => {
    expect(matchTokens(`D${SHA}-1`, `D${SHA}-1`)).toBe('equal');
    expect(matchTokens(`C${SHA}1800000000000`, `C${SHA}1800000000000`)).toBe('equal');
    expect(matchTokens(MISSING_TOKEN, MISSING_TOKEN)).toBe('equal');
    expect(matchTokens(`D${SHA}-1`, `D${SHA}1800000000000`)).toBe('differ');
    expect(matchTokens(`D${SHA}-1`, MISSING_TOKEN)).toBe('differ');
    expect(matchTokens(`D${SHA}-1`, `C${SHA}-1`)).toBe('differ');
  });

  it('never count equal N tokens as proof: big hashes and sets are compared by their elements', () => {
    expect(isProof('Nh40:-1')).toBe(false);
    expect(matchTokens('Nh40:-1', 'Nh40:-1')).toBe('unordered');
    expect(matchTokens('Ns40:-1', 'Ns41:5')).toBe('unordered');
    expect(matchTokens('Nh40:-1', 'Ns40:-1')).toBe('differ');
    expect(matchTokens('Nh40:-1', `D${SHA}-1`)).toBe('differ');
  });

  it('read an N token into its type, element count and expiry', () => {
    expect(parseUnproven('Nh4000:1800000000123')).toEqual({
      type: 'h',
      count: 4000,
      expiry: '1800000000123',
    });
    expect(parseUnproven('Ns33:-1')).toEqual({ type: 's', count: 33, expiry: '-1' });
    expect(parseUnproven('Nh?:-1')).toEqual({ type: 'h', count: undefined, expiry: '-1' });
    expect(parseUnproven(unprovenToken('s', undefined, 1_800_000_000_000))).toEqual({
      type: 's',
      count: undefined,
      expiry: '1800000000000',
    });
  });

  it('refuse malformed N tokens instead of misreading them', () => {
    for (const bad of ['N', 'Nh', 'Nx4:-1', 'Nh4', 'Nh4:', 'Nh4:soon', 'Nhfour:-1', `D${SHA}-1`, '-']) {
      expect(parseUnproven(bad), bad).toBeUndefined();
    }
  });

  it('read the batch digest notes, index first', () => {
    expect(parseBatchNote('17 Nh40:-1')).toEqual({
      index: 17,
      token: { type: 'h', count: 40, expiry: '-1' },
    });
    expect(parseBatchNote('Nh40:-1')).toBeUndefined();
    expect(parseBatchNote(' Nh40:-1')).toBeUndefined();
    expect(parseBatchNote('x Nh40:-1')).toBeUndefined();
  });

  it('write the same D token as the script for the same payload and expiry', () => {
    expect(dumpToken(SHA, -1)).toBe(`D${SHA}-1`);
    expect(dumpToken(SHA, 1_800_000_000_000)).toBe(`D${SHA}1800000000000`);
  });

  it('take a content digest as proof only when the server computed one and both match', () => {
    const line = `hash\t-1\t3\t${SHA}`;
    expect(contentDigestsProve(line, line)).toBe(true);
    expect(contentDigestsProve(line, `hash\t-1\t3\t${'b'.repeat(40)}`)).toBe(false);
    expect(contentDigestsProve('stream\t-1\t9\t', 'stream\t-1\t9\t')).toBe(false);
    expect(contentDigestsProve('none', 'none')).toBe(false);
  });

  it('give a missing key the missing state, and a present one the SHA-1 of payload, | and expiry', () => {
    expect(stateToken(null, '-2')).toBe(MISSING_TOKEN);
    const payload = Buffer.from([0, 1, 2, 255]);
    expect(stateToken(payload, '-1')).toBe(
      createHash('sha1')
        .update(Buffer.concat([payload, Buffer.from('|-1')]))
        .digest('hex'),
    );
  });
});

describe('key tokens written by the scripts of a real server', () => {
  let servers: RedisServer[] = [];
  let client: Redis;
  beforeAll(async () => {
    servers = [await startRedisServer()];
    client = (servers[0] as RedisServer).client();
  });
  afterAll(async () => {
    client?.disconnect();
    await stopAll(servers);
  });

  it('are read back as the Lambda expects, for every kind of key', async () => {
    // Hashes this big are hashtable-encoded (RDB type 4): DUMP bytes prove nothing for them.
    await client.config('SET', 'hash-max-ziplist-entries', '16');
    await client.set('plain', 'v', 'PXAT', 1_900_000_000_000);
    await client.hset(
      'small-hash',
      Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`f${i}`, `${i}`])),
    );
    await client.sadd('big-set', ...Array.from({ length: 300 }, (_, i) => `member-${i}`));
    const keys = ['plain', 'missing', 'small-hash', 'big-set'];
    // Cluster mode disabled: KEYS, then the expiry flag (PEXPIRETIME) and the small-unordered limit.
    const reply = String(await client.eval(FAST_DIGEST_SCRIPT, keys.length, ...keys, '1', '250'));
    const [plain, missing, smallHash, bigSet] = reply.split('\n') as [string, string, string, string];
    const dump = (await client.dumpBuffer('plain')) as Buffer;
    expect(plain).toBe(dumpToken(createHash('sha1').update(dump).digest('hex'), 1_900_000_000_000));
    expect(missing).toBe(MISSING_TOKEN);
    expect(smallHash).toMatch(/^C[0-9a-f]{40}-1$/);
    expect(parseUnproven(bigSet)).toEqual({ type: 's', count: 300, expiry: '-1' });
  });

  it('agree with the compare-and-copy script on the state token of a key', async () => {
    await client.set('state', 'value');
    const payload = (await client.dumpBuffer('state')) as Buffer;
    const lua = `${STATE_TOKEN_LUA}\nreturn stateToken(redis.call('DUMP', KEYS[1]), ARGV[1])`;
    expect(await client.eval(lua, 1, 'state', '1900000000000')).toBe(stateToken(payload, '1900000000000'));
  });
});
