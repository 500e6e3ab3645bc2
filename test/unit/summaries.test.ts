/** The summaries Temporal shows stay in clear under the payload codec; nothing else does. */
import { defaultPayloadConverter } from '@temporalio/common';
import { EncryptionCodec, generatePayloadKeys, parsePayloadKeys } from '../../platform/payload-codec';
import { runIdOfWorkflow, runWorkflowId } from '../../workflows/definitions';
import { stepSummary } from '../../workflows/summaries';

const codec = new EncryptionCodec(parsePayloadKeys(generatePayloadKeys('unit')));
const encodingOf = (p: { metadata?: Record<string, Uint8Array> | null }) => Buffer.from(p.metadata?.encoding ?? []).toString();

test('when a step summary is encoded, then it stays readable JSON while the same text as an argument is sealed', async () => {
  const summary = defaultPayloadConverter.toPayload(stepSummary('login', { name: 'Log in', type: 'browser' }));
  const argument = defaultPayloadConverter.toPayload('step login "Log in" (browser)');
  const [kept, sealed] = await codec.encode([summary, argument]);
  expect(encodingOf(kept)).toBe('json/plain');
  expect(defaultPayloadConverter.fromPayload(kept)).toBe('step login "Log in" (browser)');
  expect(encodingOf(sealed)).toBe('binary/sealed');
});

test('when a step runs on an agent, then its summary says so', () => {
  expect(defaultPayloadConverter.fromPayload(defaultPayloadConverter.toPayload(stepSummary('fetch', { type: 'http' }, 'laptop')))).toBe('step fetch (http) on agent laptop');
});

test("when a batch's run reads its id back from its workflow id, then it gets the id it was started under, whatever it looks like", () => {
  for (const id of ['3f2c1e0a-0000-4000-8000-000000000001', 'run-1', 'ci-run-42']) expect(runIdOfWorkflow(runWorkflowId(id))).toBe(id);
});
