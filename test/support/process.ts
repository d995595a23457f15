/** Runs a child process to completion, collecting its output (Java oracles, the CLI, scripts). */
import { spawn } from "node:child_process";

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runProcess(
  command: string,
  args: readonly string[],
  options: { stdin?: string; cwd?: string } = {},
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, stdio: ["pipe", "pipe", "pipe"] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() }));
    child.stdin.end(options.stdin ?? "");
  });
}

/** Like `runProcess`, but a non-zero exit rejects with `what`, the exit code and stderr. */
export async function runChecked(
  what: string,
  command: string,
  args: readonly string[],
  options: { stdin?: string; cwd?: string } = {},
): Promise<string> {
  const result = await runProcess(command, args, options);
  if (result.code !== 0) throw new Error(`${what} exited with ${result.code}: ${result.stderr}`);
  return result.stdout;
}
