/** docs/configuration.md's table is the config schema's: every variable, its default, its description. */
import fs from 'node:fs';
import { CONFIG_DOC, configRows, renderConfigDoc } from '../../apps/config-docs';
import { configSchema } from '../../platform/config';

describe('docs/configuration.md', () => {
  it('when the schema changed, then the doc was regenerated (npm run docs:config)', () => {
    const current = fs.readFileSync(CONFIG_DOC, 'utf8');
    expect(renderConfigDoc(current)).toBe(current);
  });

  it('lists every variable of the schema, with the default the schema applies', () => {
    const current = fs.readFileSync(CONFIG_DOC, 'utf8');
    for (const name of Object.keys(configSchema.shape)) expect(current).toContain(`| \`${name}\` |`);
    const rows = new Map(configRows().map((r) => [r.name, r]));
    expect(rows.get('PORT')?.default).toBe('`3000`');
    expect(rows.get('FLOWRUNS_CODEC_CORS_ORIGINS')?.default).toBe('`http://localhost:8233,http://127.0.0.1:8233`');
    expect(rows.get('DATABASE_URL')?.default).toMatch(/^—/);
  });
});
