/**
 * The typed client and the OpenAPI document agree: every endpoint the client (and so the CLI)
 * calls is in the document the gateway serves, with that method.
 */
import { ENDPOINTS } from '../apps/client';
import { withStack } from './harness';

const stack = withStack();

it('when the OpenAPI document is read, then it has every endpoint the client calls', async () => {
  const doc = (await stack.call('GET', '/openapi.json', undefined, null)).body;
  for (const [name, [method, path]] of Object.entries(ENDPOINTS)) expect([name, method, path, Boolean(doc.paths[path]?.[method])]).toEqual([name, method, path, true]);
});
