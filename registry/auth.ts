/**
 * Registry authentication: the `WWW-Authenticate` challenge of a 401 says Basic (send the
 * credentials with every request) or Bearer (ask the `realm` token endpoint for a token for the
 * `service` and the repository scopes, with the credentials if we have any, anonymously if not).
 * Tokens are cached per scope set until they expire. The header this returns is only ever attached
 * to requests to the registry itself (the client checks the origin).
 */
import { RegistryError } from './errors.js';
import type { Credentials } from './credentials.js';
import { drain, readBody, statusError, type HttpResponse, type Transport } from './http.js';
import { isPlainHttpAllowed } from './reference.js';

/** A parsed `WWW-Authenticate` header. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (quoted values may contain commas and `\"`). */
export function parseChallenge(header: string): Challenge | undefined {
  const match = /^\s*([A-Za-z][\w-]*)\s*(.*)$/s.exec(header);
  if (match === null) return undefined;
  const params: Record<string, string> = {};
  const pairs = /([A-Za-z][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/gy;
  const rest = match[2] ?? '';
  for (let pair = pairs.exec(rest); pair !== null && pair[0] !== ''; pair = pairs.exec(rest)) {
    params[(pair[1] ?? '').toLowerCase()] = pair[2] !== undefined ? pair[2].replace(/\\(.)/g, '$1') : (pair[3] ?? '');
  }
  return { scheme: (match[1] ?? '').toLowerCase(), params };
}

interface CachedToken {
  header: string;
  expiresAt: number;
}

/** Keeps what a registry asked for and the tokens it gave; one per registry client. */
export class Authenticator {
  private basicHeader: string | undefined;
  private readonly tokens = new Map<string, CachedToken>();
  private credentials: Promise<Credentials | undefined> | undefined;

  constructor(
    private readonly transport: Transport,
    private readonly registry: string,
    private readonly loadCredentials: () => Promise<Credentials | undefined>,
    private readonly insecure: readonly string[],
  ) {}

  /** The Authorization header to send for `scopes`, when one is known already. */
  headerFor(scopes: readonly string[]): string | undefined {
    if (this.basicHeader !== undefined) return this.basicHeader;
    const cached = this.tokens.get(scopeKey(scopes));
    return cached !== undefined && cached.expiresAt > Date.now() ? cached.header : undefined;
  }

  /** Answers a 401: true when a (new) header was obtained and the request should be sent again. */
  async answer(res: HttpResponse, scopes: readonly string[]): Promise<boolean> {
    const header = res.headers['www-authenticate'];
    await drain(res);
    const challenge = parseChallenge(Array.isArray(header) ? (header[0] ?? '') : (header ?? ''));
    if (challenge?.scheme === 'basic') {
      const credentials = await this.getCredentials();
      if (credentials?.password === undefined) return false;
      this.basicHeader = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
      return true;
    }
    if (challenge?.scheme === 'bearer' && challenge.params.realm) {
      const token = await this.fetchToken(challenge.params, scopes);
      this.tokens.set(scopeKey(scopes), token);
      return true;
    }
    return false;
  }

  /** Whether credentials are configured (for error messages: "log in" versus "denied"). */
  async hasCredentials(): Promise<boolean> {
    return (await this.getCredentials()) !== undefined;
  }

  private getCredentials(): Promise<Credentials | undefined> {
    this.credentials ??= this.loadCredentials();
    return this.credentials;
  }

  private async fetchToken(params: Record<string, string>, scopes: readonly string[]): Promise<CachedToken> {
    const realm = this.realmUrl(params.realm ?? '');
    const label = `registry ${this.registry}: token endpoint ${realm.host}`;
    const credentials = await this.getCredentials();
    const wanted = [...scopes];
    if (wanted.length === 0 && params.scope) wanted.push(params.scope);
    const res = await this.transport.retry(async () => {
      const sent =
        credentials?.identityToken !== undefined
          ? await this.refreshTokenRequest(realm, params.service, wanted, credentials.identityToken, label)
          : await this.transport.send({
              method: 'GET',
              url: tokenUrl(realm, params.service, wanted),
              headers: basicAuth(credentials),
              label,
            });
      if (sent.status >= 500 || sent.status === 429) throw await statusError(sent, label);
      return sent;
    });
    if (res.status === 401 || res.status === 403) {
      await drain(res);
      const why = credentials
        ? `credentials for ${credentials.username || 'the identity token'} were refused`
        : 'anonymous access refused (log in with `tzbuild login`)';
      throw new RegistryError(`registry ${this.registry}: ${why}`, 'REGISTRY_UNAUTHORIZED');
    }
    if (res.status !== 200) throw await statusError(res, label);
    const body = JSON.parse((await readBody(res, 1024 * 1024, label)).toString('utf8')) as {
      token?: string;
      access_token?: string;
      expires_in?: number;
    };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError(`${label}: the response holds no token`, 'REGISTRY_TOKEN');
    // Spec default lifetime is 60 s; renew a little early.
    return { header: `Bearer ${token}`, expiresAt: Date.now() + Math.max(10, (body.expires_in ?? 60) - 10) * 1000 };
  }

  private refreshTokenRequest(
    realm: URL,
    service: string | undefined,
    scopes: string[],
    refreshToken: string,
    label: string,
  ) {
    const form = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: 'tzbuild',
    });
    if (service) form.set('service', service);
    if (scopes.length > 0) form.set('scope', scopes.join(' '));
    return this.transport.send({
      method: 'POST',
      url: realm,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: Buffer.from(form.toString()),
      label,
    });
  }

  /** The realm must be https, unless its host may be spoken to in plain http. */
  private realmUrl(realm: string): URL {
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryError(
        `registry ${this.registry}: malformed token realm ${JSON.stringify(realm)}`,
        'REGISTRY_TOKEN',
      );
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isPlainHttpAllowed(url.host, this.insecure))) {
      throw new RegistryError(
        `registry ${this.registry}: refusing to send credentials to non-https token realm ${url.origin}`,
        'REGISTRY_TOKEN',
      );
    }
    return url;
  }
}

function tokenUrl(realm: URL, service: string | undefined, scopes: readonly string[]): URL {
  const url = new URL(realm);
  if (service) url.searchParams.set('service', service);
  for (const scope of scopes) url.searchParams.append('scope', scope);
  return url;
}

function basicAuth(credentials: Credentials | undefined): Record<string, string> {
  if (credentials?.password === undefined) return {};
  return {
    Authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`,
  };
}

function scopeKey(scopes: readonly string[]): string {
  return [...scopes].sort().join(' ');
}

/** `repository:NAME:ACTIONS`, the scope a request on a repository needs. */
export function repositoryScope(repository: string, actions: 'pull' | 'pull,push'): string {
  return `repository:${repository}:${actions}`;
}
