import { z } from 'zod';
import { PolicyDocument } from '../engine/document.js';

/**
 * The policy document's JSON Schema, generated from the zod schema that the loader
 * uses, so editors and the engine never disagree. Refinements (e.g. "exactly one of
 * repository or registry") have no JSON Schema form; `portcullis policy lint` checks
 * them. `io: 'input'` documents what people write, before defaults.
 */
export function policyJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(PolicyDocument, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }),
    $id: 'https://portcullis.dev/schema/policy.schema.json',
    title: 'Portcullis trust policy',
    description: 'Rules that map verified OIDC identities to registry access. See docs/policy.md.',
  };
}
