/**
 * Writes schema/policy.schema.json from the zod schema (the single source of
 * truth): `npx tsx scripts/gen-policy-schema.ts`. `--check` exits 1 when the
 * committed file is out of date (for CI).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { PolicyDocument } from '../src/policy/document.js';

const target = fileURLToPath(new URL('../schema/policy.schema.json', import.meta.url));

// Refinements (e.g. "exactly one of repository or registry") cannot be expressed in
// JSON Schema; `portcullis policy lint` checks them. io: 'input' documents what people write.
const schema = z.toJSONSchema(PolicyDocument, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });
const text = `${JSON.stringify(
  {
    ...schema,
    $id: 'https://portcullis.dev/schema/policy.schema.json',
    title: 'Portcullis trust policy',
    description: 'Rules that map verified OIDC identities to registry access. See docs/policy.md.',
  },
  null,
  2,
)}\n`;

if (process.argv.includes('--check')) {
  const current = await readFile(target, 'utf8').catch(() => '');
  if (current !== text) {
    console.error(`${target} is out of date: run npx tsx scripts/gen-policy-schema.ts`);
    process.exit(1);
  }
} else {
  await writeFile(target, text);
  console.log(`wrote ${target}`);
}
