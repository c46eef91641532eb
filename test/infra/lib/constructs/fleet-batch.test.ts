import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { logicalIdOf, statementsOfRole, synthesize } from '../../support.js';

const synthesized = synthesize();
const { stack, template } = synthesized;
const fleet = stack.fleet;

describe('the fleet batch in the template', () => {
  it('has a schedule from configuration that is disabled by default', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      State: 'DISABLED',
      ScheduleExpression: 'cron(0 1 ? * MON-THU *)',
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 15 },
      Target: Match.objectLike({ Input: JSON.stringify({ dryRun: true }) }),
    });
  });

  it('turns the schedule on, with its time zone and window, when configured', () => {
    const enabled = synthesize({
      config: (config) => ({
        ...config,
        fleet: {
          schedule: {
            enabled: true,
            expression: 'cron(30 2 ? * SAT *)',
            timezone: 'Europe/Paris',
            flexibleWindowMinutes: 0,
            input: { selection: { tags: { env: 'prod' } }, window: { durationMinutes: 180 } },
          },
        },
      }),
    });
    enabled.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      State: 'ENABLED',
      ScheduleExpression: 'cron(30 2 ? * SAT *)',
      ScheduleExpressionTimezone: 'Europe/Paris',
      FlexibleTimeWindow: { Mode: 'OFF' },
    });
  });

  it('lets the schedule start only the fleet state machine', () => {
    const statements = statementsOfRole(
      template,
      logicalIdOf(stack, fleet.node.findChild('SchedulerRole') as never),
    );
    expect(statements).toHaveLength(1);
    expect(statements[0]?.Action).toBe('states:StartExecution');
    expect(JSON.stringify(statements[0]?.Resource)).toContain('MigrateFleet');
  });

  it('lets the fleet state machine start only the per-group machine, and follow only its executions', () => {
    const role = fleet.workflow.stateMachine.role;
    const statements = statementsOfRole(template, logicalIdOf(stack, role as never));
    const starts = statements.filter((s) => [s.Action].flat().includes('states:StartExecution'));
    const migrationArn = {
      Ref: logicalIdOf(stack, stack.workflows.MigrateReplicationGroup.stateMachine as never),
    };
    // The per-group machine, and itself (the Distributed Map's children): nothing else.
    expect(starts.map((s) => s.Resource)).toEqual(expect.arrayContaining([migrationArn]));
    expect(starts).toHaveLength(2);
    for (const s of starts) expect(JSON.stringify(s.Resource)).not.toContain('*');
    const follows = statements.filter((s) => [s.Action].flat().includes('states:StopExecution'));
    expect(follows.map((s) => JSON.stringify(s.Resource))).toEqual([
      expect.stringMatching(/:execution:".*MigrateReplicationGroup.*":\*"|execution:\*/),
      expect.stringContaining('MigrateFleet/*'),
    ]);
    expect(statements.flatMap((s) => [s.Action].flat())).not.toContain('states:*');
  });

  it('limits the fleet functions to the ledger keys of the migrations table', () => {
    const admit = fleet.functions.admit.function.role;
    const statements = statementsOfRole(template, logicalIdOf(stack, admit as never));
    const writes = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('dynamodb:')));
    expect(writes).toHaveLength(1);
    expect(writes[0]?.Condition).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['fleet#*'] },
    });
  });

  it('keeps the reports in a private bucket that refuses plain HTTP', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});
