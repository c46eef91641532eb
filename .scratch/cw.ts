import * as cw from '@aws-sdk/client-cloudwatch';
import { collectSchemas } from '../sandbox/protocol/schema.ts';

const s = collectSchemas(cw as any);
console.log(
  s.operations.size,
  s.errors.size,
  [...s.operations.keys()].filter((k) => /Alarm|Tag/.test(k)),
);
console.log(JSON.stringify(s.operations.get('PutMetricAlarm')).slice(0, 400));
