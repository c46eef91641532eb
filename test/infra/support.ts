import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { type MigratorConfigInput, parseConfig } from '../../infra/config/schema.js';
import { MigratorStack, type SourcePaths } from '../../infra/lib/migrator-stack.js';

/** Handlers and a definition that stand in for the real ones in tests that do not bundle. */
export const FIXTURE_SOURCES: SourcePaths = {
  handlersDir: fileURLToPath(new URL('./fixtures/handlers/', import.meta.url)),
  stateMachineDir: fileURLToPath(new URL('./fixtures/statemachine/', import.meta.url)),
};

/** The feature flags of cdk.json, so that tests synthesize what `cdk synth` does. */
const CDK_JSON_CONTEXT = (
  JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
    context: Record<string, unknown>;
  }
).context;

/** The example configuration, as a user would start from it. */
export function exampleConfig(): MigratorConfigInput {
  return JSON.parse(
    readFileSync(new URL('../../infra/config.example.json', import.meta.url), 'utf8'),
  ) as MigratorConfigInput;
}

export interface SynthOptions {
  /** Changes to the example configuration. */
  readonly config?: (config: MigratorConfigInput) => MigratorConfigInput;
  /** Where the handlers and definitions are. Defaults to the fixtures. */
  readonly sources?: SourcePaths;
  /** Whether to run esbuild. Off by default: construct tests do not need the bundles. */
  readonly bundle?: boolean;
  /** Changes to the stack before it is synthesized. */
  readonly configureStack?: (stack: MigratorStack) => void;
}

export interface Synthesized {
  readonly app: App;
  readonly stack: MigratorStack;
  readonly template: Template;
}

/** Builds the stack from a configuration and returns its template. */
export function synthesize(options: SynthOptions = {}): Synthesized {
  const input = options.config ? options.config(exampleConfig()) : exampleConfig();
  const config = parseConfig(input);
  const app = new App({
    context: {
      ...CDK_JSON_CONTEXT,
      ...(options.bundle === true ? {} : { 'aws:cdk:bundling-stacks': [] }),
    },
  });
  const stack = new MigratorStack(app, 'Migrator', {
    config,
    sources: options.sources ?? FIXTURE_SOURCES,
  });
  options.configureStack?.(stack);
  return { app, stack, template: Template.fromStack(stack) };
}

/** An IAM policy statement as it appears in the template. */
export interface TemplateStatement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** The statements of the identity policies attached to a role, by the role's logical ID. */
export function statementsOfRole(template: Template, roleLogicalId: string): TemplateStatement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((policy) =>
      (policy.Properties.Roles as Array<{ Ref?: string }>).some((role) => role.Ref === roleLogicalId),
    )
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as TemplateStatement[]);
}

/** The logical ID of a construct's CloudFormation resource. */
export function logicalIdOf(stack: MigratorStack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as never);
}
