/** The dashboard's pure pieces: escaping, the env form field, the SVG chart of a flow's runs. */
import { durationChart } from '../../apps/gateway/ui/chart';
import { esc, parseEnv } from '../../apps/gateway/ui/html';
import { HttpError } from '../../apps/gateway/http/errors';

it('when text holds markup, then esc makes it inert', () => {
  expect(esc(`<script>alert("x")</script>&'`)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;');
  expect(esc(null)).toBe('');
});

it('when the env field has KEY=value lines, then they become variables; a line without = is a 400 naming its line', () => {
  expect(parseEnv('A=1\r\n# a comment\n\n B = two=2 ')).toEqual({ A: '1', B: ' two=2' });
  expect(parseEnv(undefined)).toEqual({});
  expect(() => parseEnv('A=1\nnope')).toThrow(new HttpError(400, 'env: line 2 is not KEY=value'));
});

it('when runs are charted, then each is a linked, named bar coloured by outcome, a flaky one marked, p50 and p95 drawn, names escaped', () => {
  const at = new Date('2026-01-01T00:00:00Z');
  const svg = durationChart(
    [
      { id: 'r1', status: 'failed', durationMs: 400, flaky: false, at },
      { id: 'r<2>', status: 'succeeded', durationMs: 1200, flaky: true, at },
      { id: 'r3', status: 'running', durationMs: null, flaky: false, at },
    ],
    { p50: 800, p95: 1150 },
    'Runs of <b>',
  );
  expect(svg.match(/<rect class="run /g)).toHaveLength(3);
  expect(svg).toContain('<a href="/ui/runs/r%3C2%3E" aria-label="Run r&lt;2&gt;: succeeded, flaky, 1.2 s">');
  expect(svg.match(/class="flaky-mark"/g)).toHaveLength(1);
  expect(svg).toContain('class="p50"');
  expect(svg).toContain('p95 1.1 s');
  expect(svg).toContain('<title id="chart-title">Runs of &lt;b&gt;</title>');
  expect(svg).not.toContain('<b>');
});
