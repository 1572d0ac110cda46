/**
 * Users and groups as Docker resolves them from an image's /etc/passwd and /etc/group. There are
 * two sets of rules, and both are BuildKit's:
 *
 * - a RUN process (`resolveRunUser`) follows runc's `GetExecUser`: a bare user gets its passwd
 *   gid and, as supplementary groups, every group whose member list names it; an explicit group
 *   replaces the gid and adds no supplementary groups;
 * - a file owner (`resolveOwner`: `COPY/ADD --chown`, the directory WORKDIR creates) follows
 *   BuildKit's file operations: a user name takes its passwd gid, a numeric uid is also the gid.
 */
import { UserError } from '../core/errors.js';
import type { ImageView } from '../core/ports.js';

/** One line of /etc/passwd (`name:x:uid:gid:gecos:home:shell`). */
interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** One line of /etc/group (`name:x:gid:member,member`). */
interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** Who a RUN step runs as. */
export interface RunUser {
  uid: number;
  gid: number;
  /** The passwd home directory; `/` for a user passwd does not list (runc's default). */
  home: string;
  /** Supplementary groups, in /etc/group's order (empty for an explicit group or an unlisted uid). */
  additionalGids: number[];
}

/** The numeric owner of files a step writes. */
export interface Owner {
  uid: number;
  gid: number;
}

const NUMERIC = /^\d+$/;

/** Colon-separated fields of each non-empty line, trimmed as runc's parser trims them. */
function fieldsOf(text: string): string[][] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => line.split(':'));
}

/** A numeric id field, or undefined when the field is not a plain number. */
function idField(field: string | undefined): number | undefined {
  return field !== undefined && NUMERIC.test(field) ? Number(field) : undefined;
}

async function readPasswd(view: ImageView): Promise<PasswdEntry[]> {
  return fieldsOf(await view.readText('/etc/passwd')).flatMap(([name = '', , uidField, gidField, , home = '']) => {
    const uid = idField(uidField);
    return name === '' || uid === undefined ? [] : [{ name, uid, gid: idField(gidField) ?? 0, home }];
  });
}

async function readGroups(view: ImageView): Promise<GroupEntry[]> {
  return fieldsOf(await view.readText('/etc/group')).flatMap(([name = '', , gidField, list = '']) => {
    const gid = idField(gidField);
    return name === '' || gid === undefined ? [] : [{ name, gid, members: list === '' ? [] : list.split(',') }];
  });
}

/** Splits `user[:group]`; an empty group is no group, as in runc. */
function splitSpec(spec: string): { user: string; group: string | undefined } {
  const colon = spec.indexOf(':');
  if (colon < 0) return { user: spec, group: undefined };
  const group = spec.slice(colon + 1);
  return { user: spec.slice(0, colon), group: group === '' ? undefined : group };
}

/** The passwd entry `user` names (a number is always a uid); the first match wins. */
function findUser(passwd: PasswdEntry[], user: string): PasswdEntry | undefined {
  return NUMERIC.test(user)
    ? passwd.find((entry) => entry.uid === Number(user))
    : passwd.find((entry) => entry.name === user);
}

/** The gid `group` names: a number as is, a name through /etc/group. */
async function groupId(view: ImageView, group: string): Promise<number> {
  if (NUMERIC.test(group)) return Number(group);
  const entry = (await readGroups(view)).find((candidate) => candidate.name === group);
  if (entry === undefined)
    throw new UserError(`unable to find group ${group}: no matching entries in group file`, 'UNKNOWN_GROUP');
  return entry.gid;
}

function unknownUser(user: string): UserError {
  return new UserError(`unable to find user ${user}: no matching entries in passwd file`, 'UNKNOWN_USER');
}

/**
 * Resolves a RUN step's `USER` value (`''` is root) as runc's GetExecUser does for BuildKit. A
 * numeric user missing from passwd is fine (gid 0, home `/`); an unknown name is an error.
 */
export async function resolveRunUser(view: ImageView, spec: string): Promise<RunUser> {
  // BuildKit takes no lookup at all for an empty user: root with no supplementary groups.
  if (spec === '')
    return { uid: 0, gid: 0, home: (await findUser(await readPasswd(view), '0'))?.home ?? '/', additionalGids: [] };
  const { user, group } = splitSpec(spec);
  const entry = findUser(await readPasswd(view), user);
  if (entry === undefined && !NUMERIC.test(user)) throw unknownUser(user);
  const uid = entry?.uid ?? Number(user);
  const home = entry?.home || '/';
  if (group !== undefined) return { uid, gid: await groupId(view, group), home, additionalGids: [] };
  if (entry === undefined) return { uid, gid: 0, home, additionalGids: [] };
  const groups = await readGroups(view);
  const additionalGids = groups.filter((candidate) => candidate.members.includes(entry.name)).map(({ gid }) => gid);
  return { uid, gid: entry.gid, home, additionalGids };
}

/**
 * Resolves an owner (`--chown` value, or the USER a WORKDIR directory is made for) as BuildKit's
 * file operations do: a name takes its passwd uid and gid, a number is both uid and gid; an
 * explicit group (name or number) replaces the gid. An unknown name is an error.
 */
export async function resolveOwner(view: ImageView, spec: string): Promise<Owner> {
  const { user, group } = splitSpec(spec);
  let owner: Owner;
  if (NUMERIC.test(user)) owner = { uid: Number(user), gid: Number(user) };
  else {
    const entry = findUser(await readPasswd(view), user);
    if (entry === undefined) throw unknownUser(user);
    owner = { uid: entry.uid, gid: entry.gid };
  }
  return group === undefined ? owner : { uid: owner.uid, gid: await groupId(view, group) };
}
