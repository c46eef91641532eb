// Kept free of imports: the CLI reads it without loading discovery and its SDK clients.

/** The child execution's name: `<batchId>-<groupId>` (at most 32 + 1 + 40 characters, under 80). */
export function childExecutionName(batchId: string, groupId: string): string {
  return `${batchId}-${groupId}`;
}
