// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ASL definition placeholders are literal text, not template strings
import { describe, expect, it } from 'vitest';
import {
  DefinitionSubstitutionError,
  placeholdersIn,
  selectSubstitutions,
  substitute,
} from '../../../infra/lib/asl.js';

const DEFINITION = JSON.stringify({
  StartAt: 'A',
  States: {
    A: { Type: 'Task', Parameters: { FunctionName: '${AFunctionArn}' }, Next: 'B' },
    B: { Type: 'Task', Parameters: { FunctionName: '${BFunctionArn}' }, Next: 'C' },
    C: { Type: 'Task', Parameters: { FunctionName: '${AFunctionArn}' }, End: true },
  },
});

describe('definition substitutions', () => {
  it('lists each placeholder once, in order of first use', () => {
    expect(placeholdersIn(DEFINITION)).toEqual(['AFunctionArn', 'BFunctionArn']);
  });

  it('selects only the values a definition uses', () => {
    expect(
      selectSubstitutions(DEFINITION, { AFunctionArn: 1, BFunctionArn: 2, CFunctionArn: 3 }, 'x.asl.json'),
    ).toEqual({
      AFunctionArn: 1,
      BFunctionArn: 2,
    });
  });

  it('fails naming the file, the unknown placeholder and what the stack provides', () => {
    expect(() => selectSubstitutions(DEFINITION, { AFunctionArn: 1, ZFunctionArn: 2 }, 'x.asl.json')).toThrow(
      new DefinitionSubstitutionError(
        'x.asl.json: no value for ${BFunctionArn}; the stack provides ${AFunctionArn}, ${ZFunctionArn}',
      ),
    );
  });

  it('fails on a malformed placeholder instead of deploying it literally', () => {
    expect(() => selectSubstitutions('{"a": "${}", "b": "${1x}"}', {}, 'x.asl.json')).toThrow(
      /x\.asl\.json: placeholder \$\{\} is not a valid substitution name/,
    );
  });

  it('replaces every placeholder, leaving none behind', () => {
    const resolved = substitute(DEFINITION, { AFunctionArn: 'arn:a', BFunctionArn: 'arn:b' }, 'x.asl.json');
    expect(placeholdersIn(resolved)).toEqual([]);
    expect(JSON.parse(resolved).States.C.Parameters.FunctionName).toBe('arn:a');
  });
});
