/** Temporal connection settings read as @temporalio/envconfig reads them: variables over a TOML profile. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../platform/config';
import { connectionOptions, describeTemporal, loadTemporalSettings, nativeConnectionOptions, TEMPORAL_ENV_VARS } from '../../platform/temporal-connection';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-conn-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
/** No profile file of the machine's user leaks in. */
const NO_FILE = { TEMPORAL_CONFIG_FILE: path.join(dir, 'none.toml') };

it('when nothing is set, then the local default without TLS, and npm run dev may start its own server', () => {
  const s = loadTemporalSettings({ ...NO_FILE });
  expect(s).toEqual({ address: '127.0.0.1:7233', addressDefaulted: true, namespace: 'default', apiKey: undefined, tls: undefined, metadata: undefined });
  expect(describeTemporal(s)).toBe('127.0.0.1:7233 (namespace default, plaintext)');
});

it('when an API key is set (Temporal Cloud), then TLS is on and the key is sent, never shown', () => {
  const s = loadTemporalSettings({ ...NO_FILE, TEMPORAL_ADDRESS: 'us-east-1.aws.api.temporal.io:7233', TEMPORAL_NAMESPACE: 'flows.a1b2c', TEMPORAL_API_KEY: 'secret-key' });
  expect(connectionOptions(s)).toMatchObject({ address: 'us-east-1.aws.api.temporal.io:7233', apiKey: 'secret-key', tls: true });
  expect(s.namespace).toBe('flows.a1b2c');
  expect(describeTemporal(s)).not.toContain('secret-key');
  expect(loadConfig({ ...NO_FILE, TEMPORAL_API_KEY: 'k', TEMPORAL_ADDRESS: 'x:7233' }).temporalAddressDefaulted).toBe(false);
});

it('when a TOML profile names mTLS files, then they are read; variables override the profile', () => {
  fs.writeFileSync(path.join(dir, 'ca.pem'), 'CA');
  fs.writeFileSync(path.join(dir, 'client.pem'), 'CERT');
  fs.writeFileSync(path.join(dir, 'client.key'), 'KEY');
  const file = path.join(dir, 'temporal.toml');
  fs.writeFileSync(
    file,
    [
      '[profile.prod]',
      'address = "temporal.internal:7233"',
      'namespace = "flows"',
      '[profile.prod.tls]',
      `server_ca_cert_path = "${path.join(dir, 'ca.pem')}"`,
      `client_cert_path = "${path.join(dir, 'client.pem')}"`,
      `client_key_path = "${path.join(dir, 'client.key')}"`,
      'server_name = "frontend.temporal"',
    ].join('\n'),
  );
  const s = loadTemporalSettings({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod', TEMPORAL_NAMESPACE: 'other' });
  expect(s.address).toBe('temporal.internal:7233');
  expect(s.namespace).toBe('other');
  const tls = nativeConnectionOptions(s).tls as { serverNameOverride: string; serverRootCACertificate: Buffer; clientCertPair: { crt: Buffer; key: Buffer } };
  expect(tls.serverNameOverride).toBe('frontend.temporal');
  expect(tls.serverRootCACertificate.toString()).toBe('CA');
  expect([tls.clientCertPair.crt.toString(), tls.clientCertPair.key.toString()]).toEqual(['CERT', 'KEY']);
  expect(describeTemporal(s)).toBe('temporal.internal:7233 (namespace other, mTLS)');
  expect(loadTemporalSettings({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod', TEMPORAL_TLS: 'false' }).tls).toBe(false);
});

it('when the named profile is missing, then starting fails naming the settings', () => {
  expect(() => loadTemporalSettings({ ...NO_FILE, TEMPORAL_PROFILE: 'nope' })).toThrow(/TEMPORAL_PROFILE.*Profile 'nope' not found/);
});

it('the variables are the config schema\'s, so the configuration reference lists them', () => {
  expect(TEMPORAL_ENV_VARS).toEqual(expect.arrayContaining(['TEMPORAL_ADDRESS', 'TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_API_KEY', 'TEMPORAL_PROFILE', 'TEMPORAL_CONFIG_FILE']));
});
