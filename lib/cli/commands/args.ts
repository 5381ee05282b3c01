/**
 * Command-line parsing shared by the `residual` commands: flags through `node:util` parseArgs, and
 * numbers checked, each error naming the flag (a UsageError: printed without a stack trace).
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../../util/errors';

/** One flag: a string or a boolean, with an optional default and short name. */
export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  default?: string | boolean;
}

type FlagValue<F> = F extends { type: 'boolean' } ? boolean : string;
/** The parsed values: flags with a default are always set. */
export type FlagValues<O> = { [K in keyof O]: O[K] extends { default: unknown } ? FlagValue<O[K]> : FlagValue<O[K]> | undefined };

/** Parse `argv` against `options` (no positionals); an unknown or malformed flag ends with `usage`. */
export function parseFlags<O extends Record<string, FlagSpec>>(argv: string[], options: O, usage: string): FlagValues<O> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true }).values as unknown as FlagValues<O>;
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${usage}`);
  }
}

/** A whole number ≥ min from an option, or a UsageError naming the option. */
export function intArg(value: string | undefined, name: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const v = Number(value);
  if (value.trim() === '' || !Number.isInteger(v) || v < min)
    throw new UsageError(`--${name} must be a whole number ≥ ${min}, got '${value}'`);
  return v;
}

/** A number > 0 (or ≥ 0 with allowZero) from an option, or a UsageError naming the option. */
export function numArg(value: string, name: string, allowZero = false): number {
  const v = Number(value);
  if (value.trim() === '' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw new UsageError(`--${name} must be a number ${allowZero ? '≥' : '>'} 0, got '${value}'`);
  }
  return v;
}
