import { describe, expect, it } from 'vitest';
import { MultisetHash, normalizeScore, SequenceHash } from '../../../lambdas/verifier/fingerprint.js';

const b = (s: string): Buffer => Buffer.from(s);

describe('content fingerprints', () => {
  it('give a hash the same fingerprint whatever order its fields arrive in', () => {
    const one = new MultisetHash();
    const two = new MultisetHash();
    for (const [f, v] of [
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
    ] as const)
      one.add(b(f), b(v));
    for (const [f, v] of [
      ['c', '3'],
      ['a', '1'],
      ['b', '2'],
    ] as const)
      two.add(b(f), b(v));
    expect(one.digest()).toBe(two.digest());
  });

  it('ignore a field that a scan returned twice', () => {
    const once = new MultisetHash();
    const twice = new MultisetHash();
    once.add(b('a'), b('1'));
    twice.add(b('a'), b('1'));
    twice.add(b('a'), b('1'));
    expect(twice.digest()).toBe(once.digest());
  });

  it('tell apart a field moved into the value (length prefixes)', () => {
    const one = new MultisetHash();
    const two = new MultisetHash();
    one.add(b('ab'), b('c'));
    two.add(b('a'), b('bc'));
    expect(one.digest()).not.toBe(two.digest());
  });

  it('keep list order significant', () => {
    const one = new SequenceHash();
    const two = new SequenceHash();
    one.add('x');
    one.add('y');
    two.add('y');
    two.add('x');
    expect(one.digest()).not.toBe(two.digest());
  });

  it('read scores formatted differently by different engines as the same number', () => {
    expect(normalizeScore('1.5')).toBe(normalizeScore('1.50000000000000000'));
    expect(normalizeScore('1e+20')).toBe(normalizeScore('100000000000000000000'));
    expect(normalizeScore('inf')).toBe('Infinity');
    expect(normalizeScore('-inf')).toBe('-Infinity');
    expect(normalizeScore('2')).not.toBe(normalizeScore('2.0000001'));
  });
});
