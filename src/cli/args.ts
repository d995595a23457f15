/**
 * Command-line parsing for the `tributary` CLI: `tributary <command> [subcommand] --flag value`.
 * Small on purpose (node:util's parseArgs is Node-only; the CLI also runs under Bun and Deno).
 */

export class UsageError extends Error {
  override name = "UsageError";
}

export interface ParsedArgs {
  positionals: string[];
  /** Repeated flags (`--config a=1 --config b=2`) keep every value, in order. */
  flags: Map<string, string[]>;
}

/** Flags that take no value. */
const SWITCHES = new Set(["binary", "help", "quiet"]);

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (SWITCHES.has(name)) value = "true";
    else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith("--")) throw new UsageError(`--${name} needs a value`);
      value = next;
      i++;
    }
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { positionals, flags };
}

export class Flags {
  readonly #flags: Map<string, string[]>;
  readonly #used = new Set<string>();

  constructor(flags: Map<string, string[]>) {
    this.#flags = flags;
  }

  string(name: string): string | undefined {
    this.#used.add(name);
    const values = this.#flags.get(name);
    return values?.[values.length - 1];
  }

  required(name: string): string {
    const value = this.string(name);
    if (value === undefined) throw new UsageError(`--${name} is required`);
    return value;
  }

  all(name: string): string[] {
    this.#used.add(name);
    return this.#flags.get(name) ?? [];
  }

  switch(name: string): boolean {
    return this.string(name) === "true";
  }

  integer(name: string, range: { min: number; max?: number }): number | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isInteger(value) || value < range.min || (range.max !== undefined && value > range.max)) {
      throw new UsageError(`--${name} must be a whole number from ${range.min}${range.max !== undefined ? ` to ${range.max}` : " up"}, got "${text}"`);
    }
    return value;
  }

  oneOf<T extends string>(name: string, choices: readonly T[]): T | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    if (!(choices as readonly string[]).includes(text)) throw new UsageError(`--${name} must be one of ${choices.join(", ")}, got "${text}"`);
    return text as T;
  }

  /** Call after reading every flag a command knows: an unknown flag is a typo, not something to ignore. */
  rejectUnknown(): void {
    const unknown = [...this.#flags.keys()].filter((name) => !this.#used.has(name));
    if (unknown.length > 0) throw new UsageError(`unknown option ${unknown.map((n) => `--${n}`).join(", ")}`);
  }
}
