#!/usr/bin/env node
/** `docker-credential-portcullis <get|store|erase|list|version>`: the credential helper docker and podman run. */
import { runCredentialHelper } from '../client/index.js';

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const args = process.argv.slice(2);
// `list` and `version` take no input; docker still writes to stdin, which is drained but ignored.
try {
  const result = await runCredentialHelper(args, await readStdin(), process.env);
  process.stdout.write(result.stdout);
  process.exitCode = result.code;
} catch (err) {
  // Whatever went wrong, the caller shows stdout as the reason: one line, no stack trace.
  process.stdout.write(`portcullis: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
