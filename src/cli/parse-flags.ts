/** node:util parseArgs, strict, with its errors turned into UsageErrors. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './cli-errors.ts';

type Options = Record<string, { type: 'string' }>;

export interface ParsedFlags<O extends Options> {
  readonly values: { readonly [K in keyof O]?: string };
  readonly positionals: readonly string[];
}

/** Every flag takes a string value; unknown flags and missing values are UsageErrors. */
export function parseFlags<O extends Options>(args: readonly string[], options: O, allowPositionals = false): ParsedFlags<O> {
  try {
    const parsed = parseArgs({ args: [...args], options: options as NonNullable<ParseArgsConfig['options']>, strict: true, allowPositionals });
    return { values: parsed.values as { [K in keyof O]?: string }, positionals: parsed.positionals };
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]!);
  }
}

export function parsePositiveInteger(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number) || number <= 0) throw new UsageError(`${flag} must be a positive integer, got "${value}"`);
  return number;
}

export function parseIdList(value: string, flag: string): number[] {
  return value.split(',').map((part) => parsePositiveInteger(part.trim(), flag)!);
}
