import { randomUUID } from 'node:crypto';
import * as snsModel from '@aws-sdk/client-sns';
import { AwsFault, missing } from '../protocol/errors.js';
import { queryProtocol } from '../protocol/query.js';
import { collectSchemas } from '../protocol/schema.js';
import type { SandboxContext, ServiceDefinition } from './types.js';

export interface PublishedMessage {
  topicArn: string;
  messageId: string;
  subject?: string;
  message: string;
  attributes: Record<string, string>;
}

/** SNS topics and what was published to them (approval requests, notifications). */
export class SnsStore {
  readonly topics = new Set<string>();
  readonly published: PublishedMessage[] = [];

  constructor(private readonly ctx: SandboxContext) {}

  /**
   * A message an AWS service publishes to a topic (ElastiCache's event notifications). A topic
   * that does not exist drops it, as a deleted topic does on AWS.
   */
  deliver(topicArn: string, subject: string, message: string): void {
    if (!this.topics.has(topicArn)) return;
    this.published.push({ topicArn, messageId: randomUUID(), subject, message, attributes: {} });
  }

  addTopic(name: string): string {
    const arn = `arn:aws:sns:${this.ctx.region}:${this.ctx.accountId}:${name}`;
    this.topics.add(arn);
    return arn;
  }
}

export function snsService(ctx: SandboxContext, store: SnsStore): ServiceDefinition {
  return {
    signingName: 'sns',
    faults: ctx.faults,
    wire: queryProtocol({
      schemas: collectSchemas(snsModel),
      namespace: 'com.amazonaws.sns',
      xmlNamespace: 'http://sns.amazonaws.com/doc/2010-03-31/',
      version: '2010-03-31',
    }),
    operations: {
      Publish(input: {
        TopicArn?: string;
        Message?: string;
        Subject?: string;
        MessageAttributes?: Record<string, { DataType?: string; StringValue?: string }>;
      }) {
        if (!input.TopicArn) throw missing('TopicArn');
        if (input.Message === undefined) throw missing('Message');
        if (!store.topics.has(input.TopicArn))
          throw new AwsFault('NotFoundException', 'Topic does not exist');
        // Subjects: at most 100 printable ASCII characters. https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
        if (
          input.Subject !== undefined &&
          (input.Subject.length > 100 || !/^[\x20-\x7e]*$/.test(input.Subject))
        ) {
          throw new AwsFault('InvalidParameterException', 'Invalid parameter: Subject');
        }
        const messageId = randomUUID();
        store.published.push({
          topicArn: input.TopicArn,
          messageId,
          subject: input.Subject,
          message: input.Message,
          attributes: Object.fromEntries(
            Object.entries(input.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue ?? '']),
          ),
        });
        return { MessageId: messageId };
      },
    },
  };
}
