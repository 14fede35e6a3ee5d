import { join } from "node:path";
import { stackConfig } from "../config.js";

/** Runs a TypeScript entry point of this repository with tsx, as the stack's Node services do. */
export function tsxCommand(entry: string, args: readonly string[]): { file: string; args: string[] } {
  return {
    file: process.execPath,
    args: ["--import", "tsx", join(stackConfig.repoRoot, entry), ...args],
  };
}
