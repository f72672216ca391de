import { InvalidArgumentError } from 'commander';

/** Commander argument parsers shared by several commands. */
export function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a port number between 1 and 65535');
  return n;
}

export function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 86_400) throw new InvalidArgumentError('expected whole seconds between 1 and 86400');
  return n;
}
