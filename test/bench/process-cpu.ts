/**
 * A process's CPU time as Linux counts it: clock ticks (getconf CLK_TCK) of user + system time, read
 * from /proc/<pid>/stat for a child process, or reported in ticks by one that measures itself.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

export const clockTicks = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

/** CPU seconds (user + system) a process has used, from /proc. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // After the command name (which may hold spaces): utime and stime are the 12th and 13th fields.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}
