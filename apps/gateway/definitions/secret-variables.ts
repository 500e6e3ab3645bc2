/**
 * Secret variables in definitions (flows, suites, apps, builds): responses show their values as
 * `***`, and a definition saved back with `***` for a secret keeps the value it had.
 */
import { isSecretName, MASK, maskVariables } from '../../../domain/secrets';

export { secretNames } from '../../../domain/secrets';

/** Variables as a response shows them: secret ones (declared, or named like one) as `***`. */
export const shownVariables = (vars: Record<string, string>, declared: readonly string[] | undefined): Record<string, string> =>
  maskVariables(vars, declared ?? []);

/**
 * The variables to store from what a client sent: a secret variable sent as `***` (what the
 * client read) keeps its stored value rather than becoming `***`.
 */
export function keepMaskedSecrets(
  next: Record<string, string>,
  stored: Record<string, string> | undefined,
  declared: readonly string[],
): Record<string, string> {
  if (!stored) return next;
  return Object.fromEntries(
    Object.entries(next).map(([k, v]) => [k, v === MASK && isSecretName(k, declared) && Object.hasOwn(stored, k) ? stored[k]! : v]),
  );
}
