import { z } from 'zod';

// A query string or form field: repeated (scope), it is an array.
const field = z.union([z.string(), z.array(z.string())]).optional();

/** `GET /auth/token`'s query; other fields (client_id…) are allowed and unused, as docker_auth allows them. */
export const tokenQuerySchema = z.looseObject({
  service: field,
  scope: field,
  account: field,
  offline_token: field,
});

/**
 * `POST /auth/token`'s form. A body that is not an object (none, a JSON array or string) reads as no fields,
 * which the route answers as an unsupported grant_type, as before.
 */
export const tokenFormSchema = z.preprocess(
  (body) => (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}),
  z.looseObject({
    service: field,
    scope: field,
    grant_type: field,
    username: field,
    password: field,
    refresh_token: field,
    access_type: field,
    client_id: field,
  }),
);

export type TokenQuery = z.infer<typeof tokenQuerySchema>;
export type TokenForm = z.infer<typeof tokenFormSchema>;

/** The OAuth2 `invalid_request` description for input the schema refused: the field, never its value. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  const name = issue?.path.map(String).join('.') || 'request';
  return `malformed parameter "${name.slice(0, 50)}": expected a string`;
}
