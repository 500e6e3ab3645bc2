/** Who is calling: resolved from the API key by the auth middleware (auth-middleware.ts). */
export interface AuthContext {
  accountId: string;
  /** The key's id, or 'admin' for FLOWRUNS_ADMIN_KEY. */
  keyId: string;
  keyName: string;
  isAdmin: boolean;
}
