/**
 * Fault injection for crash tests: a process started with `CAIRN_TEST_CRASH_AT=<name>` kills
 * itself with SIGKILL the first time it reaches `crashPoint(<name>)`, exactly as `kill -9` would at
 * that instant (no handler runs, nothing is flushed). Unset, it costs one comparison. Read from
 * the process environment, not the config, so it cannot be set from a config file by accident.
 */
const target = process.env.CAIRN_TEST_CRASH_AT;

export function crashPoint(name: string): void {
  if (target !== undefined && target === name) process.kill(process.pid, 'SIGKILL');
}
