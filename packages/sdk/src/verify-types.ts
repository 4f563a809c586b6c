import type { paths } from './schema.js';

type VerifyOperation = paths['/v1/keys/verify']['post'];

/** POST /v1/keys/verify's body, from Latchkey's OpenAPI document. */
export type VerifyRequest = VerifyOperation['requestBody']['content']['application/json'];

/** Its answer (200 for every well-formed request; `valid` and `code` say whether the call may proceed). */
export type VerifyAnswer = VerifyOperation['responses'][200]['content']['application/json'];
