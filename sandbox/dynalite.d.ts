declare module 'dynalite' {
  import type { Server } from 'node:http';

  /** https://github.com/architect/dynalite#readme: the options this sandbox uses. */
  interface DynaliteOptions {
    /** LevelDB directory; in memory when absent. */
    path?: string;
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
  }

  /** A DynamoDB-compatible HTTP server (not yet listening). */
  export default function dynalite(options?: DynaliteOptions): Server;
}
