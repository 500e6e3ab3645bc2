/**
 * maskTrace without a browser: a trace zip shaped as Playwright writes one (trace.trace events,
 * trace.network entries, resources, screencast frames) with a secret in every place a page puts
 * it comes back with none of its forms left, a short secret masked where a whole string is it,
 * and the screencast frames from the first typing of a secret on dropped.
 */
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { encodedForms, maskTrace } from '../../activities/browser/trace';

const SECRET = 'pa ss"w&rd<1>';
const lines = (...events: unknown[]) => strToU8(events.map((e) => JSON.stringify(e)).join('\n'));

function traceZip(): Uint8Array {
  return zipSync({
    'trace.trace': lines(
      { type: 'context-options', version: 8, title: 'login' },
      { type: 'screencast-frame', pageId: 'p1', file: 'screencast/p1-1.jpeg', timestamp: 10 },
      { type: 'before', callId: 'c1', startTime: 20, method: 'fill', params: { selector: '#user', value: SECRET } },
      { type: 'before', callId: 'c2', startTime: 30, method: 'fill', params: { selector: '#pin', value: 'abc' } },
      { type: 'screencast-frame', pageId: 'p1', file: 'screencast/p1-2.jpeg', timestamp: 25 },
      { type: 'frame-snapshot', snapshot: { html: ['INPUT', { __playwright_value_: SECRET, id: 'user' }], url: `https://shop.test/login?next=${encodeURIComponent(SECRET)}` } },
    ),
    'trace.network': lines({ type: 'resource-snapshot', snapshot: { request: { url: 'https://shop.test/login', postData: { text: '', params: [{ name: 'pass', value: SECRET }], _sha1: 'body.dat' } } } }),
    'resources/body.dat': strToU8(`user=x&pass=${new URLSearchParams({ v: SECRET }).toString().slice(2)}`),
    'resources/page.html': strToU8(`<p>Welcome ${SECRET.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')}</p>`),
    'resources/api.json': strToU8(JSON.stringify({ token: SECRET })),
    'screencast/p1-1.jpeg': new Uint8Array([0xff, 0xd8, 1, 2, 3]),
    'screencast/p1-2.jpeg': new Uint8Array([0xff, 0xd8, 4, 5, 6]),
  });
}

describe('maskTrace', () => {
  it('when a trace carries a secret in events, snapshots, the network log and resources, then no form of it is left', () => {
    const files = unzipSync(maskTrace(traceZip(), [SECRET, 'abc']));
    for (const [name, data] of Object.entries(files)) {
      const text = Buffer.from(data).toString('latin1');
      for (const form of encodedForms(SECRET)) expect({ name, form, found: text.includes(form) }).toEqual({ name, form, found: false });
      expect({ name, found: text.includes('pa ss') || text.includes('pa+ss') || text.includes('pa%20ss') }).toEqual({ name, found: false });
    }
    const events = strFromU8(files['trace.trace']!).split('\n').map((l) => JSON.parse(l));
    expect(events.filter((e) => e.type === 'before').map((e) => e.params.value)).toEqual(['***', '***']);
    expect(strFromU8(files['resources/body.dat']!)).toBe('user=x&pass=***');
  });

  it('when a secret is typed, then the screencast frames from that call on are dropped with their images, earlier ones kept', () => {
    const files = unzipSync(maskTrace(traceZip(), [SECRET]));
    expect(Object.keys(files).filter((n) => n.startsWith('screencast/'))).toEqual(['screencast/p1-1.jpeg']);
    const frames = strFromU8(files['trace.trace']!).split('\n').filter((l) => l.includes('screencast-frame'));
    expect(frames).toHaveLength(1);
  });

  it('when a short secret is only part of a string, then it is left (as everywhere else), and with no secrets the zip is unchanged', () => {
    const zip = traceZip();
    const files = unzipSync(maskTrace(zip, ['abc']));
    expect(strFromU8(files['trace.trace']!)).toContain('"value":"***"');
    expect(strFromU8(files['trace.trace']!)).toContain(SECRET.replace(/"/g, '\\"'));
    expect(maskTrace(zip, [])).toBe(zip);
  });
});
