/**
 * Agent entry: `npm run agent -- --name NAME` (from source) or `npm run start:agent -- --name NAME`
 * (built). Configuration: FLOWRUNS_URL (the gateway) and FLOWRUNS_API_KEY (a key of the account
 * with the `run` scope), nothing else; FLOWRUNS_AGENT_CONCURRENCY, FLOWRUNS_EGRESS_ALLOW and the
 * browser settings are optional. Next to a running `npm run dev`, both default to its gateway and
 * admin key (account `default`).
 */
import os from 'node:os';
import { createAgentRunner } from '../../activities/agent';
import { BrowserPool } from '../../activities/browser/pool';
import { createEgressFetch, createEgressPolicy, describeEgress } from '../../activities/egress';
import { ExpressionEvaluator } from '../../activities/expressions';
import { loadConfig, type Config } from '../../platform/config';
import { readDevStack } from '../dev/stack-file';
import { Agent, AgentKeyRefused, AgentSetupError } from './agent';

const NAME = /^[A-Za-z0-9_.-]{1,100}$/;

/** `--name NAME` or `--name=NAME`. */
function nameFlag(argv: string[]): string | undefined {
  const i = argv.indexOf('--name');
  if (i >= 0) return argv[i + 1];
  return argv.find((a) => a.startsWith('--name='))?.slice('--name='.length);
}

/**
 * An agent is its account's own machine, there to reach what the platform cannot (a staging server
 * inside the account's network): without FLOWRUNS_EGRESS_ALLOW its steps may reach whatever the
 * machine can. With it, the platform's rule: public addresses and what it lists.
 */
export const AGENT_DEFAULT_ALLOW: readonly string[] = ['0.0.0.0/0', '::/0'];

/** With neither FLOWRUNS_URL nor FLOWRUNS_API_KEY set, the gateway a running `npm run dev` wrote down, and its admin key. */
function joinDevStack(config: Config): Config {
  if (config.gatewayUrl || config.apiKey) return config;
  const stack = readDevStack(config.dataDir);
  if (!stack?.gatewayUrl || !stack.adminKey) return config;
  console.log(`joining the npm run dev stack: gateway ${stack.gatewayUrl}, with its admin key (account default), from ${config.dataDir}/dev-stack.json`);
  return { ...config, gatewayUrl: stack.gatewayUrl, apiKey: stack.adminKey };
}

async function main(): Promise<void> {
  const name = nameFlag(process.argv.slice(2));
  if (!name || !NAME.test(name)) throw new AgentSetupError('usage: npm run agent -- --name NAME (letters, digits, _ . - ; at most 100)');
  const config = joinDevStack(loadConfig(process.env));
  if (!config.gatewayUrl || !config.apiKey)
    throw new AgentSetupError('an agent talks to the gateway with a key of its account: set FLOWRUNS_URL (the gateway) and FLOWRUNS_API_KEY (a key with the run scope), or start `npm run dev` first');
  const policy = createEgressPolicy(process.env.FLOWRUNS_EGRESS_ALLOW === undefined ? AGENT_DEFAULT_ALLOW : config.egressAllow);
  const pool = BrowserPool.from(config, policy);
  const expressions = new ExpressionEvaluator(config.expressionLimits);
  const runner = createAgentRunner(
    { fetch: createEgressFetch({ policy, maxBodyBytes: config.httpMaxBodyBytes }), clock: () => new Date(), expressions },
    { pool, gateway: { url: config.gatewayUrl, apiKey: config.apiKey } },
  );
  const agent = new Agent({
    name,
    gatewayUrl: config.gatewayUrl,
    apiKey: config.apiKey,
    concurrency: config.agentConcurrency,
    identity: `agent:${name}@${os.hostname()}:${process.pid}`,
    runner,
    log: (level, message) => (level === 'info' ? console.log(message) : console.error(message)),
  });
  process.once('SIGINT', () => agent.stop());
  process.once('SIGTERM', () => agent.stop());
  console.log(describeEgress(policy));
  try {
    await agent.run();
  } finally {
    await pool.close();
    await expressions.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    // What the agent was told or could not reach is said in one line; anything else with its stack.
    console.error(err instanceof AgentKeyRefused || err instanceof AgentSetupError ? err.message : err);
    process.exit(1);
  },
);
