import type { Digest } from '../core/oci.js';
import { Authenticator, repositoryScope } from './auth.js';
import { lookupCredentials, type CredentialOptions, type Credentials } from './credentials.js';
import { RegistryError } from './errors.js';
import {
  drain,
  readBody,
  statusError,
  Transport,
  type HttpResponse,
  type RequestBody,
  type TransportOptions,
} from './http.js';
import { isPlainHttpAllowed, registryApiHost } from './reference.js';

/** Options of a registry client. */
export interface RegistryClientOptions extends TransportOptions, CredentialOptions {
  /** Registries (`host:port` or host) that may be spoken to over plain http. */
  insecureRegistries?: readonly string[];
  /** Where credentials come from (default: Docker's config.json and helpers). */
  credentials?: (registry: string) => Promise<Credentials | undefined>;
}

/** One registry request, before auth and redirects. */
interface RegistryRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH';
  /** A path under the registry (`/v2/…`) or an absolute URL (upload locations). */
  target: string | URL;
  scopes: readonly string[];
  label: string;
  headers?: Record<string, string>;
  body?: RequestBody;
  /** Retry transient failures here (off for upload steps, which retry as a whole). */
  retry?: boolean;
}

/** Manifest media types we accept, most specific first. */
export const manifestAccept = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

const maxRedirects = 5;
/** Cap on manifests and other JSON read into memory. */
export const maxManifestBytes = 4 * 1024 * 1024;

/** The distribution API of one registry. Call {@link close} when done. */
export class RegistryClient {
  readonly origin: URL;
  private readonly transport: Transport;
  private readonly auth: Authenticator;
  private readonly insecure: readonly string[];

  constructor(
    readonly registry: string,
    options: RegistryClientOptions = {},
  ) {
    this.insecure = options.insecureRegistries ?? [];
    const scheme = isPlainHttpAllowed(registry, this.insecure) ? 'http' : 'https';
    this.origin = new URL(`${scheme}://${registryApiHost(registry)}`);
    this.transport = new Transport(options);
    const credentials = options.credentials ?? ((name: string) => lookupCredentials(name, options));
    this.auth = new Authenticator(this.transport, registry, () => credentials(registry), this.insecure);
  }

  /** `registry HOST: WHAT`, the prefix of every error about this registry. */
  label(what: string): string {
    return `registry ${this.registry}: ${what}`;
  }

  /** Checks that `/v2/` answers with the configured credentials (what `login` verifies). */
  async ping(): Promise<void> {
    const res = await this.request({ method: 'GET', target: '/v2/', scopes: [], label: this.label('/v2/') });
    await this.expect(res, [200], this.label('/v2/'));
    await drain(res);
  }

  /**
   * GETs a manifest (tag or digest): bytes, media type and the registry's digest header. The body
   * is read capped at `maxBytes` (a descriptor's declared size) and never past the manifest limit.
   */
  async getManifest(
    repository: string,
    reference: string,
    maxBytes = maxManifestBytes,
  ): Promise<{ bytes: Buffer; mediaType: string; digestHeader?: string }> {
    const label = this.label(`manifest ${repository}${reference.includes(':') ? '@' : ':'}${reference}`);
    const bytes = await this.transport.retry(async () => {
      const res = await this.request({
        method: 'GET',
        target: `/v2/${repository}/manifests/${reference}`,
        scopes: [repositoryScope(repository, 'pull')],
        label,
        headers: { Accept: manifestAccept },
        retry: false,
      });
      await this.expect(res, [200], label);
      return { body: await readBody(res, Math.min(maxBytes, maxManifestBytes), label), headers: res.headers };
    });
    const contentType =
      String(bytes.headers['content-type'] ?? '')
        .split(';')[0]
        ?.trim() ?? '';
    const digestHeader = bytes.headers['docker-content-digest'];
    return { bytes: bytes.body, mediaType: contentType, ...(typeof digestHeader === 'string' ? { digestHeader } : {}) };
  }

  /** PUTs a manifest under a tag (or digest); returns the digest the registry reports. */
  async putManifest(
    repository: string,
    reference: string,
    mediaType: string,
    bytes: Buffer,
  ): Promise<string | undefined> {
    const label = this.label(`manifest ${repository}${reference.includes(':') ? '@' : ':'}${reference}`);
    const res = await this.request({
      method: 'PUT',
      target: `/v2/${repository}/manifests/${reference}`,
      scopes: [repositoryScope(repository, 'pull,push')],
      label,
      headers: { 'Content-Type': mediaType },
      body: bytes,
    });
    await this.expect(res, [201, 200], label);
    await drain(res);
    const digest = res.headers['docker-content-digest'];
    return typeof digest === 'string' ? digest : undefined;
  }

  /**
   * GETs a blob; resolves with the response once headers arrived (stream its `body`). Not retried
   * itself: wrap the whole download (headers and body) in {@link retry}.
   */
  async getBlob(repository: string, digest: Digest): Promise<HttpResponse> {
    const label = this.label(`blob ${digest} of ${repository}`);
    const res = await this.request({
      method: 'GET',
      target: `/v2/${repository}/blobs/${digest}`,
      scopes: [repositoryScope(repository, 'pull')],
      label,
      retry: false,
    });
    await this.expect(res, [200], label);
    return res;
  }

  /** HEADs a blob: true when the repository has it. */
  async hasBlob(repository: string, digest: Digest): Promise<boolean> {
    const label = this.label(`blob ${digest} of ${repository}`);
    const res = await this.request({
      method: 'HEAD',
      target: `/v2/${repository}/blobs/${digest}`,
      scopes: [repositoryScope(repository, 'pull,push')],
      label,
    });
    await drain(res);
    if (res.status === 404) return false;
    await this.expect(res, [200], label);
    return true;
  }

  /**
   * Starts an upload, asking for a cross-repository mount of `digest` from `from` when given.
   * Returns `mounted` when the registry linked the blob (201), else the upload location.
   */
  async startUpload(
    repository: string,
    mount?: { digest: Digest; from: string },
  ): Promise<{ mounted: true } | { mounted: false; location: URL }> {
    const label = this.label(`upload to ${repository}`);
    const scopes = [repositoryScope(repository, 'pull,push'), ...(mount ? [repositoryScope(mount.from, 'pull')] : [])];
    const query = mount ? `?mount=${encodeURIComponent(mount.digest)}&from=${encodeURIComponent(mount.from)}` : '';
    const res = await this.request({
      method: 'POST',
      target: `/v2/${repository}/blobs/uploads/${query}`,
      scopes,
      label,
      body: Buffer.alloc(0),
    });
    await this.expect(res, [201, 202], label);
    await drain(res);
    if (res.status === 201 && mount) return { mounted: true };
    return { mounted: false, location: this.location(res, label) };
  }

  /** Streams a chunk to an upload session (PATCH); returns the next location. */
  async uploadChunk(repository: string, location: URL, body: RequestBody, label: string): Promise<URL> {
    const res = await this.request({
      method: 'PATCH',
      target: location,
      scopes: [repositoryScope(repository, 'pull,push')],
      label,
      headers: { 'Content-Type': 'application/octet-stream' },
      body,
      retry: false,
    });
    await this.expect(res, [202, 204], label);
    await drain(res);
    return this.location(res, label);
  }

  /** Completes an upload (PUT ?digest=), with the last bytes when given; checks the digest reported. */
  async completeUpload(
    repository: string,
    location: URL,
    digest: Digest,
    body: RequestBody | undefined,
    label: string,
  ): Promise<void> {
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    const res = await this.request({
      method: 'PUT',
      target: url,
      scopes: [repositoryScope(repository, 'pull,push')],
      label,
      headers: { 'Content-Type': 'application/octet-stream' },
      body: body ?? Buffer.alloc(0),
      retry: false,
    });
    await this.expect(res, [201, 204], label);
    await drain(res);
    const reported = res.headers['docker-content-digest'];
    if (typeof reported === 'string' && reported !== digest) {
      throw new RegistryError(`${label}: registry stored ${reported}, expected ${digest}`, 'REGISTRY_DIGEST_MISMATCH');
    }
  }

  /**
   * GETs one page of a JSON listing (`/v2/_catalog`, `/v2/NAME/tags/list`): its body (size-capped)
   * and the next page from its `Link: <…>; rel="next"` header, which must stay on this registry.
   */
  async getListPage(
    target: string | URL,
    scopes: readonly string[],
    label: string,
  ): Promise<{ body: unknown; next?: URL }> {
    const res = await this.request({ method: 'GET', target, scopes, label });
    await this.expect(res, [200], label);
    const text = (await readBody(res, maxManifestBytes, label)).toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      throw new RegistryError(`${label}: the answer is not JSON`, 'REGISTRY_PROTOCOL', { cause: err });
    }
    const link = /<([^>]+)>\s*;\s*rel="?next"?/.exec(String(res.headers.link ?? ''))?.[1];
    if (link === undefined) return { body };
    const next = new URL(link, res.url);
    if (next.origin !== this.origin.origin)
      throw new RegistryError(`${label}: a next page on another host`, 'REGISTRY_PROTOCOL');
    return { body, next };
  }

  /** Runs `attempt` again on transient failures (RegistryError.retryable), with backoff, bounded. */
  retry<T>(attempt: () => Promise<T>): Promise<T> {
    return this.transport.retry(attempt);
  }

  /** Closes idle connections. */
  close(): void {
    this.transport.close();
  }

  /** Sends with retries (unless off) for network errors, 5xx and 429. */
  private request(request: RegistryRequest): Promise<HttpResponse> {
    const once = async () => {
      const res = await this.sendFollowing(request);
      if (res.status >= 500 || res.status === 429) throw await statusError(res, request.label);
      return res;
    };
    return request.retry === false ? once() : this.transport.retry(once);
  }

  /** Sends, answering one auth challenge and following redirects (GET/HEAD) without leaking auth. */
  private async sendFollowing(request: RegistryRequest): Promise<HttpResponse> {
    let url = typeof request.target === 'string' ? new URL(request.target, this.origin) : request.target;
    let answered = false;
    for (let hops = 0; ; ) {
      const ownOrigin = url.origin === this.origin.origin;
      const authorization = ownOrigin ? this.auth.headerFor(request.scopes) : undefined;
      const headers = { ...request.headers, ...(authorization ? { Authorization: authorization } : {}) };
      const res = await this.transport.send({
        method: request.method,
        url,
        headers,
        body: request.body,
        label: request.label,
      });
      if (res.status === 401 && ownOrigin && !answered) {
        answered = true;
        if (await this.auth.answer(res, request.scopes)) continue;
        return this.unauthorized(request.label);
      }
      const location = res.headers.location;
      if (
        ![301, 302, 303, 307, 308].includes(res.status) ||
        location === undefined ||
        (request.method !== 'GET' && request.method !== 'HEAD')
      )
        return res;
      await drain(res);
      if (++hops > maxRedirects)
        throw new RegistryError(`${request.label}: more than ${maxRedirects} redirects`, 'REGISTRY_REDIRECTS');
      url = this.redirectTarget(url, location, request.label);
    }
  }

  private redirectTarget(from: URL, location: string, label: string): URL {
    const next = new URL(location, from);
    if (next.protocol === 'https:') return next;
    if (next.protocol === 'http:' && (from.protocol === 'http:' || isPlainHttpAllowed(next.host, this.insecure)))
      return next;
    throw new RegistryError(`${label}: refusing a redirect to ${next.protocol}//${next.host}`, 'REGISTRY_REDIRECT');
  }

  private async unauthorized(label: string): Promise<never> {
    const hint = (await this.auth.hasCredentials())
      ? 'the credentials were refused'
      : `authentication required (run \`tzbuild login ${this.registry}\`)`;
    throw new RegistryError(`${label}: ${hint}`, 'REGISTRY_UNAUTHORIZED');
  }

  private async expect(res: HttpResponse, statuses: number[], label: string): Promise<void> {
    if (statuses.includes(res.status)) return;
    if (res.status === 401) {
      await drain(res);
      await this.unauthorized(label);
    }
    if (res.status === 404) {
      await drain(res);
      throw new RegistryError(`${label}: not found`, 'REGISTRY_NOT_FOUND');
    }
    throw await statusError(res, label);
  }

  private location(res: HttpResponse, label: string): URL {
    const location = res.headers.location;
    if (!location) throw new RegistryError(`${label}: the registry sent no upload location`, 'REGISTRY_PROTOCOL');
    return new URL(location, res.url);
  }
}
