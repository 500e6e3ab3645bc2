/** Request fields several surfaces share. */
import { z } from 'zod';

/** Variables as `"K1=V1,K2=V2"` or `{ "K1": "V1" }` (a CI batch's `env`, an agent run's schedule variables). */
export const keyValuesSchema = z
  .union([z.string(), z.record(z.string().min(1), z.union([z.string(), z.number(), z.boolean()]))])
  .transform((vars, ctx) => {
    if (typeof vars !== 'string') return Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, String(v)]));
    const out: Record<string, string> = {};
    for (const pair of vars.split(',').map((p) => p.trim()).filter(Boolean)) {
      const eq = pair.indexOf('=');
      if (eq <= 0) {
        ctx.addIssue({ code: 'custom', message: `"${pair}" is not KEY=VALUE` });
        return z.NEVER;
      }
      out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
    }
    return out;
  });
