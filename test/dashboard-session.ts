/** Signing in to the dashboard over plain HTTP, as a browser would: the sign-in form's token, the key, the session cookie. */
import { request } from 'node:http';

export interface DashboardSession {
  /** The `Cookie` header of the signed-in browser. */
  cookie: string;
  /** The CSRF token the session's forms carry. */
  csrf: string;
  /** The `Set-Cookie` lines the sign-in answered. */
  setCookies: string[];
}

/** `name=value` of the cookies in `res`'s Set-Cookie lines. */
export const cookiesOf = (res: Response): Record<string, string> =>
  Object.fromEntries(res.headers.getSetCookie().map((c) => c.split(';')[0]!.split('=') as [string, string]));

/** The value of a hidden `name` field of an HTML page. */
export const hiddenField = (html: string, name: string): string | undefined =>
  new RegExp(`<input type="hidden" name="${name}" value="([^"]*)"`).exec(html)?.[1];

/**
 * A form POST sent from the loopback address `from` (127.0.0.0/8) instead of 127.0.0.1: sign-in
 * attempts count per client address in Postgres, shared by every gateway of the test run, so a test
 * that spends an address's attempts uses an address of its own (a loopback address, never another).
 */
export function postFormFrom(from: string, url: string, body: string, headers: Record<string, string>): Promise<Response> {
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(from)) throw new Error(`not a loopback IPv4 address: ${from}`);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', localAddress: from, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const h = new Headers();
        for (let i = 0; i < res.rawHeaders.length; i += 2) h.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
        resolve(new Response(Buffer.concat(chunks), { status: res.statusCode, headers: h }));
      });
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`POST ${url} from ${from}: no answer in 30 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** A loopback address of this test file's own (127.x.y.z, not 127.0.0.1), for postFormFrom. */
export const ownLoopbackAddress = (): string => `127.${1 + Math.floor(Math.random() * 254)}.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 254)}`;

/** Signs in with `apiKey`; from the loopback address `from` when given (postFormFrom). */
export async function signInToDashboard(baseUrl: string, apiKey: string, from?: string): Promise<DashboardSession> {
  const form = await fetch(`${baseUrl}/ui/`);
  const signin = cookiesOf(form).flowruns_signin;
  const token = hiddenField(await form.text(), 'csrf');
  if (!signin || !token) throw new Error('the sign-in page set no form token');
  const body = new URLSearchParams({ apiKey, csrf: token, next: '/ui/' }).toString();
  const res = from
    ? await postFormFrom(from, `${baseUrl}/ui/login`, body, { cookie: `flowruns_signin=${signin}` })
    : await fetch(`${baseUrl}/ui/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `flowruns_signin=${signin}` },
        body,
      });
  if (res.status !== 303) throw new Error(`signing in answered ${res.status}: ${await res.text()}`);
  const session = cookiesOf(res).flowruns_session;
  if (!session) throw new Error('signing in set no session cookie');
  const cookie = `flowruns_session=${session}`;
  const home = await fetch(`${baseUrl}/ui/`, { headers: { cookie } });
  const csrf = hiddenField(await home.text(), 'csrf');
  if (home.status !== 200 || !csrf) throw new Error(`the signed-in runs page answered ${home.status}`);
  return { cookie, csrf, setCookies: res.headers.getSetCookie() };
}
