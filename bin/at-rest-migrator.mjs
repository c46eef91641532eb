#!/usr/bin/env node
// The package's command (`npx at-rest-migrator`): runs cli/main.ts through tsx, as the project's
// other entry points do (npm run demo, npm run sandbox).
import { register } from 'tsx/esm/api';

// The AWS SDK warns on every run under Node 20 that later releases will need Node 22; the project
// supports Node 20 (package.json engines), so the CLI keeps its output to what the user asked for.
const emitWarning = process.emitWarning;
process.emitWarning = (warning, ...rest) =>
  String(warning).includes('NodeVersionSupportWarning')
    ? undefined
    : emitWarning.call(process, warning, ...rest);

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
