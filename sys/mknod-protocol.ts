/**
 * The mknod helper's protocol (helpers/mknod.pl, started by device-nodes.ts).
 *
 * argv: the machine (`uname -m`, os.machine()), which picks its mknodat number in
 * helpers/syscalls.pl. Then tzbuild writes one request line, `MODE DEV HEXPATH`, and reads its
 * answer before writing the next: `ok`, `err MESSAGE` (mknodat's error, as strerror words) or
 * `unsupported` (no mknodat number for this machine: the node is to be made another way). The
 * helper exits at EOF.
 */

/** The kind of node to make. */
export type NodeKind = 'char' | 'block' | 'fifo';

/** One node to make. */
export interface MknodRequest {
  /** Type and permission bits as mknodat(2) takes them (nodeMode); sent in octal. */
  mode: number;
  /** The device number in Linux's encoding (encodeDevice); 0 for a FIFO. Sent in decimal. */
  device: number;
  /** Where to make the node (must not exist); sent as the hex of its UTF-8 bytes, so any name fits. */
  path: string;
}

/** What the helper answered to one request. */
export type MknodAnswer = { kind: 'ok' } | { kind: 'error'; message: string } | { kind: 'unsupported' };

const typeBits: Record<NodeKind, number> = { char: 0o020000, block: 0o060000, fifo: 0o010000 };

/** The helper's argv (after its file): the machine it runs on. */
export function mknodArgs(machine: string): string[] {
  return [machine];
}

/** mknodat's mode: the file type of `kind` plus the permission bits of `mode`. */
export function nodeMode(kind: NodeKind, mode: number): number {
  return typeBits[kind] | (mode & 0o7777);
}

/** Linux's encoding of a device number (new_encode_dev), as mknodat takes it. */
export function encodeDevice(major: number, minor: number): number {
  return ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

/** `request` as the line the helper reads, newline included. */
export function encodeMknodRequest(request: MknodRequest): string {
  return `${request.mode.toString(8)} ${request.device} ${Buffer.from(request.path).toString('hex')}\n`;
}

/** One answer line (without its newline). */
export function parseMknodAnswer(line: string): MknodAnswer {
  if (line === 'ok') return { kind: 'ok' };
  if (line === 'unsupported') return { kind: 'unsupported' };
  return { kind: 'error', message: line.replace(/^err /, '') };
}
