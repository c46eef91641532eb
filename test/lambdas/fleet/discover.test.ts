import { describe, expect, it } from 'vitest';
import { childExecutionName, parseDnsTag } from '../../../lambdas/fleet/discover.js';
import { parseFleetInput } from '../../../lambdas/fleet/input.js';

describe('the DNS tag convention', () => {
  it('reads zone, record, endpoint and an optional TTL per space-separated entry', () => {
    expect(
      parseDnsTag(
        'Z0123456789ABC:orders.example.internal:primary  Z0123456789ABC:orders-ro.example.internal:reader:30',
      ),
    ).toEqual([
      { hostedZoneId: 'Z0123456789ABC', recordName: 'orders.example.internal', endpoint: 'primary' },
      {
        hostedZoneId: 'Z0123456789ABC',
        recordName: 'orders-ro.example.internal',
        endpoint: 'reader',
        lowerTtlTo: 30,
      },
    ]);
  });

  it('says what a malformed entry should look like', () => {
    expect(() => parseDnsTag('Z0123:orders.example.internal')).toThrow(/HOSTEDZONEID:record.name:endpoint/);
    expect(() => parseDnsTag('Z0123:orders.example.internal:primary:soon')).toThrow(/lowerTtlTo 'soon'/);
  });
});

describe('the fleet input', () => {
  it('lists every bad field and changes nothing', () => {
    const bad = () => parseFleetInput({ maxConcurrency: 0, selection: { engines: ['memcached'] } });
    expect(bad).toThrow(/- maxConcurrency: /);
    expect(bad).toThrow(/- selection\.engines\.0: /);
  });

  it('refuses per-group fields the batch sets itself', () => {
    expect(() => parseFleetInput({ migration: { sourceReplicationGroupId: 'orders' } })).toThrow(
      /migration\.sourceReplicationGroupId is set per group/,
    );
  });

  it('refuses a window with both an instant and a duration', () => {
    expect(() =>
      parseFleetInput({ window: { closesAt: '2026-11-30T05:00:00Z', durationMinutes: 60 } }),
    ).toThrow(/keep one/);
  });

  it('names child executions within the 80 characters Step Functions allows', () => {
    expect(childExecutionName('a'.repeat(32), 'g'.repeat(40)).length).toBeLessThanOrEqual(80);
  });
});
