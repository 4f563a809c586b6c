import { writeFileSync } from 'node:fs';
import { productJsonSchemaText } from './json-schema.js';

/** `npm run product-schema`: rewrites docs/product-file.schema.json from the product file's Zod schema. */
const target = new URL('../../docs/product-file.schema.json', import.meta.url);
writeFileSync(target, productJsonSchemaText());
process.stdout.write(`wrote ${target.pathname}\n`);
