/**
 * Agents that hold only their own key: an agent process (started with nothing but the gateway's
 * address and an account key) talks to the gateway alone, never sees another account's work,
 * loses an attempt when it dies mid-step (retried on another agent of that name), fails a run
 * clearly when none is left, stops its step when the run is cancelled, and stops when its key is
 * revoked.
 */
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { startAgent, until, withStack, type Loose, type RunningAgent } from './harness';

const agents: RunningAgent[] = [];
const agentName = `laptop-${randomBytes(4).toString('hex')}`;
/** How long an agent may take to poll, claim or reach the stub before a test gives up. */
const AGENT_WAIT_MS = 60_000;

const stack = withStack({
  workers: true,
  stub: (req) => {
    if (req.url.startsWith('/slow')) return { status: 200, body: { slow: true }, delayMs: 4000 };
    if (req.url.startsWith('/nul')) return { status: 200, body: { text: 'a\u0000b' } };
    if (req.url.startsWith('/hang')) return { status: 200, body: { hang: true }, delayMs: 15_000 };
    return { status: 200, body: { ok: true } };
  },
  account: true,
  teardown: () => Promise.all(agents.map((a) => a.kill())),
});

async function agent(name: string, apiKey = stack.key): Promise<RunningAgent> {
  const a = await startAgent(stack, name, apiKey);
  agents.push(a);
  return a;
}

let seq = 0;
async function createFlow(steps: unknown[], apiKey = stack.key): Promise<string> {
  const id = `faults-${seq++}`;
  const res = await stack.call('POST', '/api/v1/flows', { id, name: id, steps }, apiKey);
  if (res.status !== 201) throw new Error(`create flow: ${res.status} ${JSON.stringify(res.body)}`);
  return id;
}

async function runOn(flowId: string, name: string, apiKey = stack.key): Promise<string> {
  const res = await fetch(`${stack.baseUrl}/api/v4/flows/${flowId}/agent/${name}?isDelete=true`, { method: 'PUT', headers: { AccessKey: apiKey } });
  const body = (await res.json()) as Loose;
  if (res.status !== 200) throw new Error(`run on agent: ${res.status} ${JSON.stringify(body)}`);
  return body.RunId;
}

const runEnded = (runId: string, apiKey = stack.key, timeoutMs = 90_000) =>
  until(
    `run ${runId} to end`,
    async () => {
      const r = await stack.call('GET', `/api/v1/runs/${runId}`, undefined, apiKey);
      return ['succeeded', 'failed', 'cancelled', 'timed_out'].includes(r.body.status) ? (r.body as Loose) : undefined;
    },
    timeoutMs,
  );

async function attemptsOf(runId: string): Promise<{ id: string; account_id: string; claimed_by: string | null; status: string; attempt: number }[]> {
  return stack.dataSource.query(
    `SELECT a.id, a.account_id, a.claimed_by, a.status, a.attempt FROM agent_attempts a JOIN runs r ON r.id = a.run_id WHERE r.public_id = $1 OR r.id = $1 ORDER BY a.created_at`,
    [runId],
  );
}

/** Every process of the agent: the tsx launcher, the agent itself, its expression processes and browsers. */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const all = [root];
  for (let i = 0; i < all.length; i++) all.push(...(children.get(all[i]) ?? []));
  return all;
}

/** The remote TCP ports the processes' own sockets are connected to (from /proc/<pid>/fd and /proc/<pid>/net/tcp{,6}). */
function remotePorts(pids: number[]): Set<number> {
  const ports = new Set<number>();
  for (const pid of pids) {
    let inodes: Set<string>;
    try {
      inodes = new Set(
        fs
          .readdirSync(`/proc/${pid}/fd`)
          .map((fd) => {
            try {
              return /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
            } catch {
              return undefined;
            }
          })
          .filter((x): x is string => x !== undefined),
      );
    } catch {
      continue;
    }
    for (const table of ['tcp', 'tcp6']) {
      let text = '';
      try {
        text = fs.readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.trim().split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        const [, , remote, state, , , , , , inode] = f;
        // 0A: listening; a connection has a remote end.
        if (!inodes.has(inode) || state === '0A') continue;
        ports.add(parseInt(remote.split(':')[1], 16));
      }
    }
  }
  return ports;
}

const environOf = (pid: number): string[] => {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').map((kv) => kv.split('=')[0]);
  } catch {
    return [];
  }
};

describe('an agent that holds only its own key', () => {
  it('when an agent runs http and transform steps, then it reached the gateway and never Temporal or Postgres, and its environment holds neither', async () => {
    const a = await agent(agentName);
    const flowId = await createFlow([
      { id: 'greet', type: 'transform', config: { expression: "'hello from ' & 'the agent'" } },
      { id: 'call', type: 'http', config: { url: `${stack.stub.url}/slow?from=agent` } },
    ]);
    const runId = await runOn(flowId, agentName);
    await until('the agent to call the stub', () => (stack.stub.requests.some((r) => r.url === '/slow?from=agent') ? true : undefined), AGENT_WAIT_MS);

    // Mid-step: what the agent's processes are connected to.
    const tree = processTree(a.pid);
    const ports = remotePorts(tree);
    const temporalPort = Number(stack.config.temporalAddress.split(':').pop());
    const postgresPort = Number(new URL(stack.config.databaseUrl!).port);
    const gatewayPort = Number(new URL(stack.baseUrl).port);
    expect(ports.has(gatewayPort)).toBe(true);
    expect(ports.has(temporalPort)).toBe(false);
    expect(ports.has(postgresPort)).toBe(false);
    for (const pid of tree) expect(environOf(pid).filter((k) => ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'FLOWRUNS_PAYLOAD_KEYS'].includes(k))).toEqual([]);

    // The agents list says what it is running now.
    const listed = await stack.call('GET', '/api/v1/agents', undefined, stack.key);
    expect(listed.body.data).toEqual([
      expect.objectContaining({ id: agentName, online: true, running: [expect.objectContaining({ runId, stepId: 'call', attempt: 1, identity: a.identity })] }),
    ]);

    const run = await runEnded(runId);
    expect(run.status).toBe('succeeded');
    expect(run.actions.find((x: Loose) => x.step_id === 'greet').output).toBe('hello from the agent');
    expect(run.actions.find((x: Loose) => x.step_id === 'call').output).toMatchObject({ status: 200, body: { slow: true } });
    expect((await attemptsOf(runId)).map((x) => [x.attempt, x.claimed_by, x.status])).toEqual([
      [1, a.identity, 'done'],
      [1, a.identity, 'done'],
    ]);
  });

  it("when another account runs an agent of the same name, then it never receives this account's work and cannot answer for it", async () => {
    const other = await stack.newAccount();
    const theirs = await agent(agentName, other.apiKey);
    const flowId = await createFlow([{ id: 'one', type: 'transform', config: { expression: '1 + 1' } }]);
    const runs = await Promise.all([0, 1, 2].map(() => runOn(flowId, agentName)));
    for (const runId of runs) expect((await runEnded(runId)).status).toBe('succeeded');
    const attempts = (await Promise.all(runs.map(attemptsOf))).flat();
    expect(attempts).toHaveLength(3);
    expect(attempts.filter((x) => x.claimed_by === theirs.identity)).toEqual([]);
    const [{ count }] = await stack.dataSource.query(`SELECT count(*)::int AS count FROM agent_attempts WHERE account_id = $1`, [other.accountId]);
    expect(count).toBe(0);

    // Their key, our attempt's id: nothing to beat or answer.
    const ours = attempts[0].id;
    const beat = await stack.call('POST', `/api/v1/agents/${agentName}/attempts/${ours}/heartbeat`, {}, other.apiKey);
    expect(beat.status).toBe(404);
    expect(beat.body.detail[0].loc).toEqual(['path', 'attemptId']);
    const forged = await stack.call('POST', `/api/v1/agents/${agentName}/attempts/${ours}/result`, { status: 'skipped' }, other.apiKey);
    expect(forged.status).toBe(404);
    // Ours already answered: a second answer, even with our key, is not taken.
    const again = await stack.call('POST', `/api/v1/agents/${agentName}/attempts/${ours}/result`, { status: 'skipped' }, stack.key);
    expect(again.status).toBe(409);
    await theirs.kill();
  });

  it('when the agent running a step is killed with SIGKILL, then the attempt is retried on another agent of that name and the run succeeds with one record of the step', async () => {
    const second = await agent(agentName);
    const first = agents[0];
    const flowId = await createFlow([{ id: 'call', type: 'http', config: { url: `${stack.stub.url}/slow?kill=1`, timeoutMs: 20_000 }, retry: { maxAttempts: 3, initialIntervalMs: 200 } }]);
    const runId = await runOn(flowId, agentName);
    const victimId = await until('an agent to take the step', async () => (await attemptsOf(runId))[0]?.claimed_by ?? undefined, AGENT_WAIT_MS);
    await until('the step to reach the stub', () => (stack.stub.requests.some((r) => r.url === '/slow?kill=1') ? true : undefined), AGENT_WAIT_MS);
    const victim = [first, second].find((x) => x.identity === victimId)!;
    const survivor = [first, second].find((x) => x.identity !== victimId)!;
    await victim.kill();

    const run = await runEnded(runId);
    expect(run.status).toBe('succeeded');
    expect((await attemptsOf(runId)).map((x) => [x.attempt, x.claimed_by, x.status])).toEqual([
      [1, victim.identity, 'lost'],
      [2, survivor.identity, 'done'],
    ]);
    expect(run.actions.filter((x: Loose) => x.step_id === 'call')).toEqual([expect.objectContaining({ status: 'succeeded', attempts: 2 })]);
    const [{ count }] = await stack.dataSource.query(`SELECT count(*)::int AS count FROM step_runs s JOIN runs r ON r.id = s.run_id WHERE r.public_id = $1 AND s.step_id = 'call'`, [runId]);
    expect(count).toBe(1);
    const log = await (await fetch(`${stack.baseUrl}/api/v1/runs/${runId}/artifacts/log.jsonl`, { headers: { 'X-API-Key': stack.key } })).text();
    expect(log).toMatch(new RegExp(`attempt 1 failed: agent ${agentName} \\(${victim.identity.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\) stopped answering`));
  }, 120_000);

  it('when no agent of the name is left, then the run fails within the step timeout with a message naming the agent', async () => {
    await Promise.all(agents.map((a) => a.kill()));
    // The last agent polled moments ago, so the gateway still takes the run.
    const flowId = await createFlow([{ id: 'call', type: 'http', config: { url: `${stack.stub.url}/never`, timeoutMs: 2000 } }]);
    const started = Date.now();
    const runId = await runOn(flowId, agentName);
    const run = await runEnded(runId);
    const stepTimeoutMs = 2000 + 10_000;
    expect(Date.now() - started).toBeLessThan(stepTimeoutMs + 5000);
    expect(run.status).toBe('failed');
    expect(run.error.message).toContain(`no agent named ${agentName} picked the step up`);
    expect(stack.stub.requests.some((r) => r.url === '/never')).toBe(false);
    expect((await attemptsOf(runId)).map((x) => x.status)).toEqual(['cancelled']);
  }, 60_000);

  it('when the gateway cannot take a result as sent (a NUL in the output), then the agent answers a failure instead and the step fails at once, not as lost', async () => {
    const name = `${agentName}-n`;
    await agent(name);
    const flowId = await createFlow([{ id: 'nul', type: 'http', config: { url: `${stack.stub.url}/nul` }, retry: { maxAttempts: 3, initialIntervalMs: 100 } }]);
    const run = await runEnded(await runOn(flowId, name));
    expect(run.status).toBe('failed');
    expect(run.error.message).toMatch(/the gateway refused the attempt's result \(HTTP 400: .*NUL/);
    expect(run.actions.find((x: Loose) => x.step_id === 'nul')).toMatchObject({ status: 'failed', attempts: 1 });
  });

  it("when the run is cancelled, then the agent's step stops within 2 s", async () => {
    const name = `${agentName}-c`;
    const a = await agent(name);
    const flowId = await createFlow([{ id: 'hang', type: 'http', config: { url: `${stack.stub.url}/hang?c=1`, timeoutMs: 90_000 } }]);
    const runId = await runOn(flowId, name);
    await until('the step to reach the stub', () => (stack.stub.requests.some((r) => r.url === '/hang?c=1') ? true : undefined), AGENT_WAIT_MS);
    const cancelledAt = Date.now();
    expect((await stack.call('POST', `/api/v1/runs/${runId}/cancel`, undefined, stack.key)).status).toBe(202);
    const aborted = await until('the stub to see the request aborted', () => stack.stub.aborted.find((x) => x.url === '/hang?c=1'), 10_000);
    expect(aborted.at - cancelledAt).toBeLessThan(2000);
    expect((await runEnded(runId)).status).toBe('cancelled');
    expect((await attemptsOf(runId)).map((x) => [x.claimed_by, x.status])).toEqual([[a.identity, 'cancelled']]);
  }, 60_000);

  it('when the key of a running agent is revoked, then the agent stops; a key without the run scope never starts one', async () => {
    const created = await stack.call('POST', '/api/v1/api-keys', { name: 'agent key', scopes: ['run'] }, stack.key);
    expect(created.status).toBe(201);
    const a = await agent(`${agentName}-r`, created.body.apiKey);
    // Its long polls are waiting at the gateway when the key is revoked.
    await until('the agent to poll', async () => ((await stack.call('GET', '/api/v1/agents', undefined, stack.key)).body.data.find((x: Loose) => x.id === `${agentName}-r`)?.online ? true : undefined), AGENT_WAIT_MS);
    await new Promise((r) => setTimeout(r, 1000));
    const revokedAt = Date.now();
    expect((await stack.call('DELETE', `/api/v1/api-keys/${created.body.id}`, undefined, stack.key)).status).toBe(200);
    const code = await Promise.race([a.exited, new Promise<string>((r) => setTimeout(() => r('still running'), 40_000))]);
    expect(Date.now() - revokedAt).toBeLessThan(10_000);
    expect(code).toBe(1);
    expect(a.output()).toMatch(/refused the agent's key \(HTTP 401/);

    const readOnly = await stack.call('POST', '/api/v1/api-keys', { name: 'reader', scopes: ['read'] }, stack.key);
    await expect(startAgent(stack, `${agentName}-ro`, readOnly.body.apiKey)).rejects.toThrow(/refused the agent's key \(HTTP 403/);
  }, 90_000);
});
