/** Signing in to the dashboard over plain HTTP, as a browser would: the sign-in form's token, the key, the session cookie. */

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

export async function signInToDashboard(baseUrl: string, apiKey: string): Promise<DashboardSession> {
  const form = await fetch(`${baseUrl}/ui/`);
  const signin = cookiesOf(form).flowruns_signin;
  const token = hiddenField(await form.text(), 'csrf');
  if (!signin || !token) throw new Error('the sign-in page set no form token');
  const res = await fetch(`${baseUrl}/ui/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `flowruns_signin=${signin}` },
    body: new URLSearchParams({ apiKey, csrf: token, next: '/ui/' }).toString(),
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
