import { z } from 'zod';
import { productFileSchema } from './product.js';

/**
 * The product file's JSON Schema, for editors (`$schema` in a product file, or a YAML language server's
 * `# yaml-language-server: $schema=` line). Generated from the Zod schema that validates the file at
 * start, so the two cannot disagree; the checks across fields (a duplicate scope, a route naming an
 * unknown upstream) are the loader's alone. Written by `npm run product-schema`.
 */
export function productJsonSchema(): Record<string, unknown> {
  // The input side: what a person writes, so fields with a default (timeout_ms) are optional.
  const schema = z.toJSONSchema(productFileSchema, { io: 'input', target: 'draft-2020-12' });
  return { ...schema, $id: 'https://latchkey.dev/schemas/product-file.schema.json', title: 'Latchkey product file' };
}

export function productJsonSchemaText(): string {
  return `${JSON.stringify(productJsonSchema(), null, 2)}\n`;
}
