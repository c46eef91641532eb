import { Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/** The cdk-nag packs that run on every synth; any unacknowledged finding fails the synth. */
export function nagPacks(scope: IConstruct): [AwsSolutionsChecks, ServerlessChecks] {
  return [new AwsSolutionsChecks(scope, { verbose: true }), new ServerlessChecks(scope, { verbose: true })];
}

/** Registers the packs as validation plugins of the app. */
export function applyNagPacks(scope: IConstruct): void {
  Validations.of(scope).addPlugins(...nagPacks(scope));
}

/** One acknowledged finding: the exact rule ID (with its `[finding]` part) and why it is right here. */
export interface Acknowledgement {
  readonly id: string;
  readonly reason: string;
}

/** Acknowledges findings on one construct (never on a whole stack or app). */
export function acknowledge(construct: IConstruct, ...acknowledgements: Acknowledgement[]): void {
  if (Stack.isStack(construct)) {
    throw new Error('Acknowledge findings on the resource that has them, not on a stack');
  }
  for (const acknowledgement of acknowledgements) {
    Validations.of(construct).acknowledge(acknowledgement);
  }
}
