/**
 * Browsing a registry, as the private-registry workflow needs it: its repositories
 * (`/v2/_catalog`) and a repository's tags (`/v2/NAME/tags/list`), every page followed (the
 * registry's `Link` header), bounded so a registry that never stops paging cannot hold us.
 */
import { repositoryScope } from './auth.js';
import type { RegistryClient } from './client.js';
import { RegistryError } from './errors.js';

/** Pages followed at most (10,000 names at the default page size). */
const MAX_PAGES = 100;

/** Every repository the registry lists. Registries may refuse the catalog (Docker Hub does). */
export function listRepositories(client: RegistryClient, pageSize = 100): Promise<string[]> {
  return listAll(client, `/v2/_catalog?n=${pageSize}`, 'repositories', ['registry:catalog:*'], client.label('catalog'));
}

/** Every tag of `repository` (`library/node`), in the registry's order. */
export function listTags(client: RegistryClient, repository: string, pageSize = 100): Promise<string[]> {
  const label = client.label(`tags of ${repository}`);
  return listAll(
    client,
    `/v2/${repository}/tags/list?n=${pageSize}`,
    'tags',
    [repositoryScope(repository, 'pull')],
    label,
  );
}

async function listAll(
  client: RegistryClient,
  first: string,
  key: 'repositories' | 'tags',
  scopes: readonly string[],
  label: string,
): Promise<string[]> {
  const names: string[] = [];
  let target: string | URL | undefined = first;
  for (let page = 0; target !== undefined; page++) {
    if (page === MAX_PAGES) throw new RegistryError(`${label}: more than ${MAX_PAGES} pages`, 'REGISTRY_TOO_LARGE');
    const { body, next }: { body: unknown; next?: URL } = await client.getListPage(target, scopes, label);
    const list = body !== null && typeof body === 'object' ? (body as Record<string, unknown>)[key] : undefined;
    if (
      list !== undefined &&
      list !== null &&
      !(Array.isArray(list) && list.every((name) => typeof name === 'string'))
    ) {
      throw new RegistryError(`${label}: "${key}" is not a list of names`, 'REGISTRY_PROTOCOL');
    }
    names.push(...((list as string[] | null | undefined) ?? []));
    target = next;
  }
  return names;
}
