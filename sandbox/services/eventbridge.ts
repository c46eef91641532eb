import { randomUUID } from 'node:crypto';
import * as eventBridgeModel from '@aws-sdk/client-eventbridge';
import { AwsFault } from '../protocol/errors.js';
import { jsonProtocol } from '../protocol/json.js';
import { collectSchemas } from '../protocol/schema.js';
import type { SandboxContext, ServiceDefinition } from './types.js';

export interface PutEvent {
  eventId: string;
  source: string;
  detailType: string;
  detail: unknown;
  eventBusName: string;
}

/** EventBridge PutEvents (what the fleet report announces), kept for tests to read. */
export class EventBridgeStore {
  readonly events: PutEvent[] = [];
}

export function eventBridgeService(ctx: SandboxContext, store: EventBridgeStore): ServiceDefinition {
  return {
    signingName: 'events',
    faults: ctx.faults,
    wire: jsonProtocol({ schemas: collectSchemas(eventBridgeModel), targetPrefix: 'AWSEvents' }),
    operations: {
      PutEvents(input: {
        Entries?: { Source?: string; DetailType?: string; Detail?: string; EventBusName?: string }[];
      }) {
        const entries = input.Entries ?? [];
        if (entries.length < 1 || entries.length > 10)
          throw new AwsFault('ValidationException', 'Entries must hold 1 to 10 events.');
        const results = entries.map((e) => {
          if (!e.Source || !e.DetailType || e.Detail === undefined)
            return {
              ErrorCode: 'InvalidArgument',
              ErrorMessage: 'Source, DetailType and Detail are required.',
            };
          let detail: unknown;
          try {
            detail = JSON.parse(e.Detail);
          } catch {
            return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
          }
          const eventId = randomUUID();
          store.events.push({
            eventId,
            source: e.Source,
            detailType: e.DetailType,
            detail,
            eventBusName: e.EventBusName ?? 'default',
          });
          return { EventId: eventId };
        });
        return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
      },
    },
  };
}
