import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PolicyDocument } from '../../../src/policy/document.js';

describe('schema/policy.schema.json', () => {
  it('is generated from the current zod schema (run npx tsx scripts/gen-policy-schema.ts)', () => {
    const committed = JSON.parse(readFileSync(fileURLToPath(new URL('../../../schema/policy.schema.json', import.meta.url)), 'utf8')) as Record<string, unknown>;
    const fresh = z.toJSONSchema(PolicyDocument, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
    const { $id: _id, title: _title, description: _description, ...rest } = committed;
    expect(rest).toEqual(fresh);
  });
});
