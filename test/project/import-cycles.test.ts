import { fileURLToPath } from 'node:url';
import { parseCircular, parseDependencyTree } from 'dpdm';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('the Lambda code', () => {
  it('has no import cycle (type-only imports included), so each module can be read and tested alone', async () => {
    const tree = await parseDependencyTree('lambdas/**/*.ts', {
      context: root,
      tsconfig: `${root}/tsconfig.json`,
      transform: false,
      skipDynamicImports: false,
    });
    expect(Object.keys(tree).filter((file) => file.startsWith('lambdas/verifier/')).length).toBeGreaterThan(
      10,
    );
    expect(parseCircular(tree)).toEqual([]);
  });
});
