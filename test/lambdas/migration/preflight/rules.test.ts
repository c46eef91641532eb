import { describe, expect, it } from 'vitest';
import {
  authToken,
  automaticFailover,
  cloudFormationManaged,
  cutoverMethod,
  defaultSubnetGroup,
  derivedTargetName,
  dnsRecordsMovable,
  engineEncryptable,
  type Finding,
  globalDatastoreMember,
  kmsKeyUsable,
  networkGroupsExist,
  notClaimed,
  notTaggedByAnother,
  RULES,
  type Rule,
  type RuleContext,
  SOURCE_RULES,
  snapshotQuota,
  sourceAvailable,
  sourceHasMembers,
  targetDiffersFromSource,
  targetIdFree,
  tlsThroughCname,
  transitEncryptionPolicy,
} from '../../../../lambdas/migration/preflight/rules.js';
import { context, details, RECORD, sourceGroup, ZONE } from './facts.js';

/** Each rule as a compliant / non-compliant pair, on facts alone (no sandbox, no AWS). */

const refusals = (findings: Finding[]) =>
  findings.flatMap((f) => ('refusal' in f ? [`${f.refusal.name}: ${f.refusal.message}`] : []));
const warnings = (findings: Finding[]) => findings.flatMap((f) => ('warning' in f ? [f.warning] : []));
const run = (rule: Rule<RuleContext>, change: Parameters<typeof context>[0]) => rule.check(context(change));

describe('the rule list', () => {
  it('passes the compliant facts with no refusal and no warning', () => {
    const ctx = context();
    for (const rule of [...RULES]) expect(rule.check(ctx), rule.id).toEqual([]);
    for (const rule of SOURCE_RULES) expect(rule.check({ source: ctx.source }), rule.id).toEqual([]);
  });

  it('names every rule once', () => {
    const ids = [...SOURCE_RULES, ...RULES].map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('source rules', () => {
  it('global-datastore-member: a standalone group passes; a Global Datastore member is refused', () => {
    expect(globalDatastoreMember.check({ source: sourceGroup() })).toEqual([]);
    const member = sourceGroup({
      GlobalReplicationGroupInfo: {
        GlobalReplicationGroupId: 'ldgnf-orders',
        GlobalReplicationGroupMemberRole: 'PRIMARY',
      },
    });
    expect(refusals(globalDatastoreMember.check({ source: member }))).toEqual([
      expect.stringMatching(
        /^GlobalDatastoreMemberError: .*'ldgnf-orders'.*remove it from the Global Datastore/,
      ),
    ]);
  });

  it('source-available: an available group passes; a modifying one is refused with when to retry', () => {
    expect(sourceAvailable.check({ source: sourceGroup() })).toEqual([]);
    expect(refusals(sourceAvailable.check({ source: sourceGroup({ Status: 'modifying' }) }))).toEqual([
      expect.stringMatching(/^SourceNotAvailableError: .*'modifying'.*again when it is 'available'/),
    ]);
  });
});

describe('migration rules', () => {
  it('source-has-members: a group with members passes; one whose member cannot be read is refused', () => {
    expect(run(sourceHasMembers, {})).toEqual([]);
    const ctx = context();
    ctx.details.member = undefined;
    expect(refusals(sourceHasMembers.check(ctx))).toEqual([
      expect.stringMatching(/^SourceNotAvailableError: .*no member clusters/),
    ]);
  });

  it('engine-encryptable: Redis OSS 4.0.10 passes; 3.2.10, memcached and cache.t1.micro are refused', () => {
    expect(run(engineEncryptable, { member: { EngineVersion: '4.0.10' } })).toEqual([]);
    expect(refusals(run(engineEncryptable, { member: { EngineVersion: '3.2.10' } }))).toEqual([
      expect.stringMatching(/^EncryptionNotSupportedError: .*redis 3\.2\.10.*4\.0\.10 or later/),
    ]);
    expect(refusals(run(engineEncryptable, { source: { Engine: 'memcached' } }))).toEqual([
      expect.stringMatching(/only Redis OSS and Valkey/),
    ]);
    expect(refusals(run(engineEncryptable, { source: { CacheNodeType: 'cache.t1.micro' } }))).toEqual([
      expect.stringMatching(/cache\.t1\.micro nodes, which cannot be backed up/),
    ]);
  });

  it('engine-encryptable: Valkey 7.2 passes; Valkey 7.1 is refused (Valkey needs 7.2)', () => {
    expect(
      run(engineEncryptable, { source: { Engine: 'valkey' }, member: { EngineVersion: '7.2.4' } }),
    ).toEqual([]);
    expect(
      refusals(run(engineEncryptable, { source: { Engine: 'valkey' }, member: { EngineVersion: '7.1' } })),
    ).toHaveLength(1);
  });

  it("not-claimed: no claim or our own passes; another execution's claim is refused unless taken over", () => {
    expect(run(notClaimed, {})).toEqual([]);
    expect(run(notClaimed, { details: { claim: { owner: 'mig-1' } } })).toEqual([]);
    expect(refusals(run(notClaimed, { details: { claim: { owner: 'mig-0' } } }))).toEqual([
      expect.stringMatching(/^MigrationInProgressError: .*mig-0/),
    ]);
    expect(
      run(notClaimed, { details: { claim: { owner: 'mig-0' } }, input: { takeOverStaleClaim: 'mig-0' } }),
    ).toEqual([]);
  });

  it("not-tagged-by-another-migration: our own tag passes; another migration's tag is refused", () => {
    const tag = (id: string) => ({ details: { tags: { 'at-rest-migrator:migration-id': id } } });
    expect(run(notTaggedByAnother, tag('mig-1'))).toEqual([]);
    expect(refusals(run(notTaggedByAnother, tag('mig-0')))).toEqual([
      expect.stringMatching(/^MigrationInProgressError: .*'mig-0'.*takeOverStaleClaim: 'mig-0'/),
    ]);
  });

  it('cloudformation-managed: refused by default; allowed with a drift warning', () => {
    const stack = { details: { tags: { 'aws:cloudformation:stack-name': 'shop' } } };
    expect(run(cloudFormationManaged, {})).toEqual([]);
    expect(refusals(run(cloudFormationManaged, stack))).toEqual([
      expect.stringMatching(/^CloudFormationManagedError: .*'shop'.*allowCloudFormationManaged: true/),
    ]);
    const allowed = run(cloudFormationManaged, { ...stack, input: { allowCloudFormationManaged: true } });
    expect(refusals(allowed)).toEqual([]);
    expect(warnings(allowed)).toEqual([
      "Stack 'shop' will drift: its replication group is replaced outside CloudFormation.",
    ]);
  });

  it('kms-key-usable: an enabled symmetric customer key passes; a missing, disabled, asymmetric or AWS managed one is refused', () => {
    expect(run(kmsKeyUsable, {})).toEqual([]);
    const key = details().key;
    const withKey = (metadata: Partial<NonNullable<typeof key.metadata>> | undefined) => ({
      details: { key: { requested: key.requested, metadata: metadata && { ...key.metadata!, ...metadata } } },
    });
    expect(refusals(run(kmsKeyUsable, withKey(undefined)))).toEqual([
      expect.stringMatching(/^KmsKeyNotUsableError: .*does not exist/),
    ]);
    expect(refusals(run(kmsKeyUsable, withKey({ KeyState: 'Disabled' })))).toEqual([
      expect.stringMatching(/is Disabled.*unrecoverable/),
    ]);
    expect(refusals(run(kmsKeyUsable, withKey({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' })))).toEqual([
      expect.stringMatching(/not a symmetric encryption key/),
    ]);
    expect(refusals(run(kmsKeyUsable, withKey({ KeyManager: 'AWS' })))).toEqual([
      expect.stringMatching(/AWS managed/),
    ]);
    expect(refusals(run(kmsKeyUsable, { details: { key: { requested: undefined } } }))).toEqual([
      expect.stringMatching(/^InvalidInputError: No kmsKeyId was given.*DEFAULT_KMS_KEY_ID/),
    ]);
  });

  it('network-groups-exist: existing subnet and user groups pass; a missing one is refused, named', () => {
    expect(run(networkGroupsExist, { details: { userGroups: { 'orders-users': true } } })).toEqual([]);
    expect(
      refusals(
        run(networkGroupsExist, { details: { subnetGroup: { name: 'private-subnets', exists: false } } }),
      ),
    ).toEqual([
      expect.stringMatching(
        /^SourceNotAvailableError: The cache subnet group 'private-subnets' .* does not exist/,
      ),
    ]);
    expect(
      refusals(
        run(networkGroupsExist, { details: { userGroups: { 'orders-users': false, 'ops-users': true } } }),
      ),
    ).toEqual([
      expect.stringMatching(
        /^SourceNotAvailableError: The user group orders-users of replication group 'orders' does not exist/,
      ),
    ]);
  });

  it('derived-target-name: a short source id gets <id>-atrest silently; a 40-character one ending in -atrest gets -atrest2, said', () => {
    expect(run(derivedTargetName, {})).toEqual([]);
    const long = `${'a'.repeat(33)}-atrest`;
    const findings = run(derivedTargetName, {
      input: { sourceReplicationGroupId: long },
      source: { ReplicationGroupId: long },
    });
    expect(warnings(findings)).toEqual([
      expect.stringMatching(
        /would not fit in 40 characters, so the new group is named 'a+-atrest2' \(source-trimmed-atrest2\)/,
      ),
    ]);
  });

  it("target-differs-from-source: another id passes; the source's own id is refused", () => {
    expect(run(targetDiffersFromSource, { input: { targetReplicationGroupId: 'orders-new' } })).toEqual([]);
    expect(refusals(run(targetDiffersFromSource, { input: { targetReplicationGroupId: 'Orders' } }))).toEqual(
      [expect.stringMatching(/^InvalidInputError: targetReplicationGroupId must differ/)],
    );
  });

  it("target-id-free: a free id or our own retried target passes; a stranger's group is refused", () => {
    expect(run(targetIdFree, {})).toEqual([]);
    const existing = sourceGroup({ ReplicationGroupId: 'orders-atrest' });
    const ours = {
      id: 'orders-atrest',
      existing,
      existingTags: { 'at-rest-migrator:migration-id': 'mig-1' },
    };
    expect(run(targetIdFree, { details: { target: ours } })).toEqual([]);
    expect(refusals(run(targetIdFree, { details: { target: { ...ours, existingTags: {} } } }))).toEqual([
      expect.stringMatching(/^TargetIdTakenError: .*'orders-atrest' already exists/),
    ]);
    // A group being created cannot be read for tags: it is not known to be ours, so it is refused.
    expect(
      refusals(run(targetIdFree, { details: { target: { id: 'orders-atrest', existing } } })),
    ).toHaveLength(1);
  });

  describe('dns-records-movable', () => {
    it('passes a CNAME that points at the source endpoint (any case, with or without the dot)', () => {
      expect(run(dnsRecordsMovable, {})).toEqual([]);
      const upper = {
        Name: RECORD,
        Type: 'CNAME' as const,
        TTL: 60,
        ResourceRecords: [{ Value: 'ORDERS.ABC123.NG.0001.EUW1.CACHE.AMAZONAWS.COM.' }],
      };
      expect(run(dnsRecordsMovable, { details: { records: { [`${ZONE}/${RECORD}`]: upper } } })).toEqual([]);
    });

    it('refuses a record pointing elsewhere, a missing record, a missing zone, an alias', () => {
      const elsewhere = {
        Name: RECORD,
        Type: 'CNAME' as const,
        TTL: 60,
        ResourceRecords: [{ Value: 'other.example.com' }],
      };
      expect(
        refusals(run(dnsRecordsMovable, { details: { records: { [`${ZONE}/${RECORD}`]: elsewhere } } })),
      ).toEqual([
        expect.stringMatching(
          /^DnsRecordMismatchError: CNAME orders\.example\.internal\. points at 'other\.example\.com'/,
        ),
      ]);
      expect(refusals(run(dnsRecordsMovable, { details: { records: {} } }))).toEqual([
        expect.stringMatching(/There is no CNAME/),
      ]);
      expect(refusals(run(dnsRecordsMovable, { details: { zones: { [ZONE]: false } } }))).toEqual([
        expect.stringMatching(/^DnsRecordMismatchError: Hosted zone Z0123456789ABC does not exist/),
      ]);
      const weighted = {
        Name: RECORD,
        Type: 'CNAME' as const,
        TTL: 60,
        SetIdentifier: 'blue',
        Weight: 10,
        ResourceRecords: [{ Value: 'orders.abc123.ng.0001.euw1.cache.amazonaws.com' }],
      };
      expect(
        refusals(run(dnsRecordsMovable, { details: { records: { [`${ZONE}/${RECORD}`]: weighted } } })),
      ).toEqual([expect.stringMatching(/routing policies or alias targets/)]);
    });

    it('refuses a zone this deployment may not change, a record listed twice, and the wrong endpoint kind', () => {
      expect(run(dnsRecordsMovable, { allowedHostedZoneIds: [ZONE] })).toEqual([]);
      expect(refusals(run(dnsRecordsMovable, { allowedHostedZoneIds: ['Z0OTHER'] }))).toEqual([
        expect.stringMatching(/^HostedZoneNotAllowedError: .*allowed: Z0OTHER/),
      ]);
      const twice = {
        dnsRecords: [
          { hostedZoneId: ZONE, recordName: RECORD },
          { hostedZoneId: ZONE, recordName: RECORD },
        ],
      };
      expect(refusals(run(dnsRecordsMovable, { input: twice }))).toEqual([
        expect.stringMatching(/lists orders\.example\.internal\. in Z0123456789ABC twice/),
      ]);
      const configuration = {
        dnsRecords: [{ hostedZoneId: ZONE, recordName: RECORD, endpoint: 'configuration' }],
      };
      expect(refusals(run(dnsRecordsMovable, { input: configuration }))).toEqual([
        expect.stringMatching(/cluster mode disabled group has no configuration endpoint/),
      ]);
    });
  });

  it('snapshot-quota: 19 manual backups of a node today pass; 20 are refused; older ones and other nodes do not count', () => {
    const now = Date.parse('2026-11-29T12:00:00Z');
    const backups = (count: number, node: string, hoursAgo = 1) =>
      Array.from({ length: count }, (_, i) => ({
        SnapshotName: `b-${node}-${i}`,
        NodeSnapshots: [{ CacheClusterId: node, SnapshotCreateTime: new Date(now - hoursAgo * 3600_000) }],
      }));
    expect(run(snapshotQuota, { now, details: { manualSnapshots: backups(19, 'orders-002') } })).toEqual([]);
    expect(
      refusals(run(snapshotQuota, { now, details: { manualSnapshots: backups(20, 'orders-002') } })),
    ).toEqual([expect.stringMatching(/^SnapshotQuotaError: Node orders-002 already has 20 manual backups/)]);
    expect(run(snapshotQuota, { now, details: { manualSnapshots: backups(20, 'orders-002', 25) } })).toEqual(
      [],
    );
    expect(run(snapshotQuota, { now, details: { manualSnapshots: backups(20, 'orders-003') } })).toEqual([]);
  });

  it("transit-encryption-policy: 'preferred' on Redis OSS 7.0 passes; on 6.2 it is refused; 'required' on a plaintext source warns", () => {
    expect(run(transitEncryptionPolicy, { input: { transitEncryption: 'preferred' } })).toEqual([]);
    expect(
      refusals(
        run(transitEncryptionPolicy, {
          input: { transitEncryption: 'preferred' },
          member: { EngineVersion: '6.2.6' },
        }),
      ),
    ).toEqual([
      expect.stringMatching(
        /^TransitEncryptionPolicyError: .*needs redis 7\.0 or later; the source runs 6\.2\.6/,
      ),
    ]);
    expect(warnings(run(transitEncryptionPolicy, { input: { transitEncryption: 'required' } }))).toEqual([
      expect.stringMatching(/requires TLS/),
    ]);
  });

  describe('auth-token', () => {
    const SECRET = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:orders-auth-AbCdEf';
    const authSource = {
      AuthTokenEnabled: true,
      TransitEncryptionEnabled: true,
      TransitEncryptionMode: 'required' as const,
    };

    it('a token the source accepts passes; a token it refuses is refused, naming the secret', () => {
      const accepted = { secretArn: SECRET, proof: { outcome: 'accepted' as const } };
      expect(
        run(authToken, {
          source: authSource,
          input: { authTokenSecretArn: SECRET },
          details: { authToken: accepted },
        }),
      ).toEqual([]);
      const refused = {
        secretArn: SECRET,
        proof: { outcome: 'refused' as const, reply: 'WRONGPASS invalid username-password pair' },
      };
      expect(
        refusals(
          run(authToken, {
            source: authSource,
            input: { authTokenSecretArn: SECRET },
            details: { authToken: refused },
          }),
        ),
      ).toEqual([
        expect.stringMatching(
          /^AuthTokenError: .*refused the AUTH token in arn:aws:secretsmanager.*orders-auth.*WRONGPASS/,
        ),
      ]);
    });

    it('a source out of reach is SourceNotAvailableError with the network advice', () => {
      const unreachable = {
        secretArn: SECRET,
        proof: { outcome: 'unreachable' as const, reply: 'connect ETIMEDOUT' },
      };
      expect(
        refusals(
          run(authToken, {
            source: authSource,
            input: { authTokenSecretArn: SECRET },
            details: { authToken: unreachable },
          }),
        ),
      ).toEqual([expect.stringMatching(/^SourceNotAvailableError: .*ETIMEDOUT.*security group/)]);
    });

    it('a source with AUTH needs a secret; a plaintext target cannot take one; a bad secret is refused', () => {
      expect(refusals(run(authToken, { source: authSource }))).toEqual([
        expect.stringMatching(/never returns.*authTokenSecretArn/),
      ]);
      expect(
        refusals(
          run(authToken, {
            input: { authTokenSecretArn: SECRET },
            details: { authToken: { secretArn: SECRET } },
          }),
        ),
      ).toEqual([expect.stringMatching(/needs in-transit encryption/)]);
      expect(
        refusals(
          run(authToken, {
            source: authSource,
            input: { authTokenSecretArn: SECRET },
            details: {
              authToken: {
                secretArn: SECRET,
                problem: `The AUTH token secret ${SECRET} cannot be read (ResourceNotFoundException).`,
              },
            },
          }),
        ),
      ).toEqual([expect.stringMatching(/cannot be read \(ResourceNotFoundException\)/)]);
    });

    it('a token for a source that uses RBAC user groups is refused (AUTH or RBAC, never both)', () => {
      const rbac = { UserGroupIds: ['orders-users'], TransitEncryptionEnabled: true };
      expect(run(authToken, { source: rbac })).toEqual([]);
      expect(
        refusals(
          run(authToken, {
            source: rbac,
            input: { authTokenSecretArn: SECRET, transitEncryption: 'required' },
            details: { authToken: { secretArn: SECRET } },
          }),
        ),
      ).toEqual([expect.stringMatching(/authenticates with user groups \(orders-users\)/)]);
    });
  });

  it('tls-through-cname: plaintext through a CNAME is silent; TLS through a CNAME warns about host names', () => {
    expect(run(tlsThroughCname, {})).toEqual([]);
    expect(warnings(run(tlsThroughCname, { input: { transitEncryption: 'required' } }))).toEqual([
      expect.stringMatching(/verify TLS host names fail through a custom CNAME/),
    ]);
  });

  it('automatic-failover: enabled is silent; disabled warns (Security Hub ElastiCache.3)', () => {
    expect(run(automaticFailover, {})).toEqual([]);
    expect(warnings(run(automaticFailover, { source: { AutomaticFailover: 'disabled' } }))).toEqual([
      expect.stringMatching(/ElastiCache\.3/),
    ]);
  });

  it('default-subnet-group: a named subnet group is silent; the default one warns (Security Hub ElastiCache.7)', () => {
    expect(run(defaultSubnetGroup, {})).toEqual([]);
    expect(warnings(run(defaultSubnetGroup, { member: { CacheSubnetGroupName: 'default' } }))).toEqual([
      expect.stringMatching(/ElastiCache\.7/),
    ]);
  });

  it('cutover-method: a write freeze is silent; Redis OSS 6.0 falls back to the gate, said; verification off is said', () => {
    expect(run(cutoverMethod, {})).toEqual([]);
    expect(warnings(run(cutoverMethod, { member: { EngineVersion: '6.0.5' } }))).toEqual([
      expect.stringMatching(/^redis 6\.0\.5 has no CLIENT PAUSE WRITE.*beforeCutover approval is on/),
    ]);
    expect(warnings(run(cutoverMethod, { input: { cutover: { pauseWrites: false } } }))).toEqual([
      expect.stringMatching(/^pauseWrites is false/),
    ]);
    expect(warnings(run(cutoverMethod, { input: { verification: { mode: 'off' } } }))).toEqual([
      expect.stringMatching(/snapshot-only/),
    ]);
  });
});
