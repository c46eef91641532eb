// Node 20 lacks Promise.withResolvers, which aws-local-stepfunctions 3.x calls (Node 22 has it).
import '../sandbox/polyfills.js';
