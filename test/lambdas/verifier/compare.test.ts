import { describe, expect, it } from 'vitest';
import {
  compareObservations,
  finalKind,
  observeSuspect,
  type Suspect,
} from '../../../lambdas/verifier/compare.js';
import type { Observation } from '../../../lambdas/verifier/contents.js';

const NOW = 1_800_000_000_000;
const options = { expiryToleranceMs: 0, expiryGraceMs: 2000 };

function obs(overrides: Partial<Observation> = {}): Observation {
  return {
    type: 'hash',
    expireAt: -1,
    length: 3,
    fingerprint: 'fp-1',
    comparable: true,
    chunked: false,
    serverNowMs: NOW,
    ...overrides,
  };
}
const none = obs({ type: 'none', expireAt: -2, length: 0, fingerprint: '' });

describe('comparing two observations of a key', () => {
  it('finds equal contents and expiry equal', () => {
    expect(compareObservations(obs(), obs(), options)).toBe('equal');
  });

  it('calls a key present only on the source missing, and only on the target extra', () => {
    expect(compareObservations(obs(), none, options)).toBe('missing');
    expect(compareObservations(none, obs(), options)).toBe('extra');
  });

  it('forgives a one-sided key that is about to expire on the side that still has it', () => {
    expect(compareObservations(obs({ expireAt: NOW + 500 }), none, options)).toBe('expiring');
    expect(compareObservations(none, obs({ expireAt: NOW + 500 }), options)).toBe('expiring');
    expect(compareObservations(obs({ expireAt: NOW + 60_000 }), none, options)).toBe('missing');
  });

  it('reports a type difference before anything else', () => {
    expect(compareObservations(obs(), obs({ type: 'set', fingerprint: 'other', expireAt: 5 }), options)).toBe(
      'type',
    );
  });

  it('reports different contents as a value difference even when expiry differs too', () => {
    expect(compareObservations(obs(), obs({ fingerprint: 'fp-2', expireAt: NOW + 10 }), options)).toBe(
      'value',
    );
  });

  it('reports expiry differences: different times, and expiry on one side only', () => {
    expect(
      compareObservations(obs({ expireAt: NOW + 10_000 }), obs({ expireAt: NOW + 10_001 }), options),
    ).toBe('expiry');
    expect(compareObservations(obs({ expireAt: NOW + 10_000 }), obs(), options)).toBe('expiry');
    expect(compareObservations(obs(), obs({ expireAt: NOW + 10_000 }), options)).toBe('expiry');
  });

  it('accepts expiry times within the configured tolerance', () => {
    const tolerant = { ...options, expiryToleranceMs: 5 };
    expect(
      compareObservations(obs({ expireAt: NOW + 10_000 }), obs({ expireAt: NOW + 10_004 }), tolerant),
    ).toBe('equal');
    expect(compareObservations(obs({ expireAt: NOW + 10_000 }), obs(), tolerant)).toBe('expiry');
  });

  it('treats differing DUMP bytes of a type it cannot read as a value difference', () => {
    const module = obs({ type: 'ReJSON-RL', comparable: false });
    expect(compareObservations(module, { ...module, fingerprint: 'other' }, options)).toBe('value');
    expect(compareObservations(module, module, options)).toBe('equal');
  });
});

describe('a key observed over several rounds', () => {
  function suspect(source: Observation, target: Observation): Suspect {
    return { key: Buffer.from('k'), db: 0, source, target, changed: false, comparison: 'value' };
  }

  it('is a real difference when neither side moved between observations', () => {
    const s = suspect(obs(), obs({ fingerprint: 'fp-2' }));
    expect(observeSuspect(s, obs(), obs({ fingerprint: 'fp-2' }), options)).toEqual({});
    expect(finalKind(s)).toBe('value');
  });

  it('changed during the check when the source moved between observations', () => {
    const s = suspect(obs(), obs({ fingerprint: 'fp-2' }));
    observeSuspect(s, obs({ fingerprint: 'fp-3' }), obs({ fingerprint: 'fp-2' }), options);
    expect(finalKind(s)).toBe('changedDuringCheck');
  });

  it('settles as equal when a later observation matches', () => {
    const s = suspect(obs(), obs({ fingerprint: 'fp-2' }));
    expect(observeSuspect(s, obs(), obs(), options)).toEqual({ settled: 'equal' });
  });
});
