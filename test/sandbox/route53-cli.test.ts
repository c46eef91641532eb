import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../sandbox/index.js';
import { awsCli } from './aws-cli-support.js';

/**
 * Route 53 through the AWS CLI v2 (Debian's awscli), a client the project did not write: it posts
 * ChangeResourceRecordSets to `…/rrset/` with a trailing slash, as boto3 does; Route 53 accepts it.
 */
const ZONE = 'Z0CLIROUTE5301';
let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({
    fixture: {
      route53: {
        hostedZones: [
          {
            id: ZONE,
            name: 'cli.internal.',
            records: [{ name: 'app.cli.internal.', ttl: 300, values: ['old.example.internal'] }],
          },
        ],
      },
    },
  });
});
afterAll(() => sandbox?.stop());

describe('Route 53 through the AWS CLI', () => {
  it('changes a CNAME (POST …/rrset/), reports the change, and lists the new value', async () => {
    const batch = {
      Comment: 'cli test',
      Changes: [
        {
          Action: 'UPSERT',
          ResourceRecordSet: {
            Name: 'app.cli.internal.',
            Type: 'CNAME',
            TTL: 60,
            ResourceRecords: [{ Value: 'new.example.internal' }],
          },
        },
      ],
    };
    const changed = await awsCli(sandbox, [
      'route53',
      'change-resource-record-sets',
      '--hosted-zone-id',
      ZONE,
      '--change-batch',
      JSON.stringify(batch),
    ]);
    expect(changed.code, changed.stderr).toBe(0);
    const info = changed.json!.ChangeInfo as { Id: string; Status: string };
    expect(info.Status).toMatch(/PENDING|INSYNC/);
    const change = await awsCli(sandbox, ['route53', 'get-change', '--id', info.Id]);
    expect(change.code, change.stderr).toBe(0);
    const listed = await awsCli(sandbox, [
      'route53',
      'list-resource-record-sets',
      '--hosted-zone-id',
      ZONE,
      '--start-record-name',
      'app.cli.internal.',
      '--start-record-type',
      'CNAME',
      '--max-items',
      '1',
    ]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.json!.ResourceRecordSets).toEqual([
      {
        Name: 'app.cli.internal.',
        Type: 'CNAME',
        TTL: 60,
        ResourceRecords: [{ Value: 'new.example.internal' }],
      },
    ]);
  });

  it('refuses a change batch that deletes a record that does not exist, as Route 53 does', async () => {
    const refused = await awsCli(sandbox, [
      'route53',
      'change-resource-record-sets',
      '--hosted-zone-id',
      ZONE,
      '--change-batch',
      JSON.stringify({
        Changes: [
          {
            Action: 'DELETE',
            ResourceRecordSet: {
              Name: 'missing.cli.internal.',
              Type: 'CNAME',
              TTL: 60,
              ResourceRecords: [{ Value: 'x.example.internal' }],
            },
          },
        ],
      }),
    ]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('InvalidChangeBatch');
  });
});
