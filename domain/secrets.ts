/** Variables whose names look secret are masked wherever a run's variables are shown or stored. */
const SECRET_NAME = /(secret|token|password|passwd|pwd|api[_-]?key|private|credential|auth)/i;
export const MASK = '********';

export const maskVariables = (vars: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, SECRET_NAME.test(k) ? MASK : v]));
