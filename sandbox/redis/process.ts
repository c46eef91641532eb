import { readFileSync } from 'node:fs';

/**
 * Whether a process is alive. A zombie (exited, not yet reaped, e.g. re-parented to a PID 1 that
 * does not reap) counts as gone: it holds no port, memory or files.
 */
export function isProcessAlive(pid: number): boolean {
  if (process.platform === 'linux') {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // "pid (comm) state ...": comm may contain spaces and parentheses.
      const state = stat.charAt(stat.lastIndexOf(')') + 2);
      return state !== 'Z' && state !== 'X';
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
