import { type HistoryEvent, paginateGetExecutionHistory, type SFNClient } from '@aws-sdk/client-sfn';

/**
 * An execution's whole history, oldest first, every page (1,000 events a page, the most AWS
 * returns). Shared by the API, the CLI and the fleet's record step.
 */
export async function readExecutionHistory(sfn: SFNClient, executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  for await (const page of paginateGetExecutionHistory(
    { client: sfn, pageSize: 1000 },
    { executionArn, includeExecutionData: true },
  ))
    events.push(...(page.events ?? []));
  return events;
}
