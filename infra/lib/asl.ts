/**
 * Definition substitutions for the ASL files in `statemachine/`. Every `${Name}` in a file must be
 * provided; a placeholder the stack does not know fails the synth with the file and the name, so a
 * definition can never be deployed with a literal `${...}` left in it.
 */

const PLACEHOLDER = /\$\{([^}]*)\}/g;
const VALID_NAME = /^[A-Za-z][A-Za-z0-9]*$/;

/** A definition whose placeholders do not match what the stack provides. */
export class DefinitionSubstitutionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DefinitionSubstitutionError';
  }
}

/** The distinct placeholder names used in a definition, in order of first use. */
export function placeholdersIn(definition: string): string[] {
  const names = new Set<string>();
  for (const match of definition.matchAll(PLACEHOLDER)) {
    names.add(match[1] ?? '');
  }
  return [...names];
}

/**
 * Picks, from everything the stack can provide, the substitutions a definition uses. Throws when a
 * placeholder is malformed or unknown, naming the file and what is available.
 */
export function selectSubstitutions<T>(
  definition: string,
  available: Readonly<Record<string, T>>,
  file: string,
): Record<string, T> {
  const selected: Record<string, T> = {};
  const unknown: string[] = [];
  for (const name of placeholdersIn(definition)) {
    if (!VALID_NAME.test(name)) {
      throw new DefinitionSubstitutionError(
        `${file}: placeholder \${${name}} is not a valid substitution name (expected letters and digits, starting with a letter)`,
      );
    }
    const value = available[name];
    if (value === undefined) {
      unknown.push(name);
    } else {
      selected[name] = value;
    }
  }
  if (unknown.length > 0) {
    throw new DefinitionSubstitutionError(
      `${file}: no value for ${unknown.map((name) => `\${${name}}`).join(', ')}; the stack provides ${Object.keys(
        available,
      )
        .sort()
        .map((name) => `\${${name}}`)
        .join(', ')}`,
    );
  }
  return selected;
}

/** Replaces every placeholder with its value, as Step Functions does at deploy time. */
export function substitute(
  definition: string,
  values: Readonly<Record<string, string>>,
  file: string,
): string {
  selectSubstitutions(definition, values, file);
  return definition.replace(PLACEHOLDER, (_match, name: string) => values[name] ?? '');
}
