/**
 * The ustar + PAX header format, both ways, for layer tars.
 *
 * Why not tar-stream here: it builds PAX records as JS strings and UTF-8-encodes them, which
 * corrupts binary xattr values (`security.capability` of a setcap'd binary), its packer turns mode
 * 0 into 0644, and its reader decodes PAX values as UTF-8 too. Layers must round-trip those bytes
 * exactly, so the ~150 lines of header codec live here; archives (docker save) still use tar-stream.
 */

/** Entry kinds a layer tar may hold. */
export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'directory' | 'fifo';

/** One decoded (or to-be-encoded) tar header, PAX extensions already applied. */
export interface TarHeader {
  name: string;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  xattrs: Record<string, Buffer>;
}

export const blockSize = 512;

/** Name of the marker that makes a directory opaque in a layer tar. */
export const opaqueMarker = '.wh..wh..opq';
/** Prefix of a whiteout file in a layer tar. */
export const whiteoutPrefix = '.wh.';
export const xattrPaxPrefix = 'SCHILY.xattr.';

const typeFlags: Record<TarEntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  directory: '5',
  fifo: '6',
};

const max8 = 0o7777777;
const max12 = 0o77777777777;

/** Encodes `header` as one ustar block, preceded by a PAX block set when ustar cannot hold it. */
export function encodeHeader(header: TarHeader): Buffer {
  const name = header.type === 'directory' && !header.name.endsWith('/') ? `${header.name}/` : header.name;
  const pax = new Map<string, Buffer>();
  const split = splitUstarName(name);
  if (split === undefined) pax.set('path', Buffer.from(name));
  if (header.linkname !== '' && !fitsAscii(header.linkname, 100)) pax.set('linkpath', Buffer.from(header.linkname));
  if (header.size > max12) pax.set('size', Buffer.from(String(header.size)));
  if (header.uid > max8) pax.set('uid', Buffer.from(String(header.uid)));
  if (header.gid > max8) pax.set('gid', Buffer.from(String(header.gid)));
  if (header.mtime < 0 || header.mtime > max12) pax.set('mtime', Buffer.from(String(header.mtime)));
  for (const [key, value] of Object.entries(header.xattrs)) pax.set(`${xattrPaxPrefix}${key}`, value);

  const ustar = encodeUstar({
    ...header,
    name: split?.name ?? asciiPrefix(name, 100),
    prefix: split?.prefix ?? '',
    linkname: pax.has('linkpath') ? asciiPrefix(header.linkname, 100) : header.linkname,
  });
  if (pax.size === 0) return ustar;
  const records = encodePaxRecords(pax);
  const paxHeader = encodeUstar(
    { ...header, type: 'file', name: 'PaxHeader', prefix: '', linkname: '', size: records.length },
    'x',
  );
  return Buffer.concat([paxHeader, padToBlock(records), ustar]);
}

/** Zero bytes that pad `size` bytes of entry body to a whole block. */
export function paddingFor(size: number): Buffer {
  const rest = size % blockSize;
  return Buffer.alloc(rest === 0 ? 0 : blockSize - rest);
}

/** The two zero blocks that end an archive. */
export function endOfArchive(): Buffer {
  return Buffer.alloc(blockSize * 2);
}

interface UstarFields extends TarHeader {
  prefix: string;
}

function encodeUstar(h: UstarFields, typeFlag = typeFlags[h.type]): Buffer {
  const block = Buffer.alloc(blockSize);
  block.write(h.name, 0, 100, 'utf8');
  writeOctal(block, 100, 8, h.mode & 0o7777);
  writeOctal(block, 108, 8, h.uid > max8 ? 0 : h.uid);
  writeOctal(block, 116, 8, h.gid > max8 ? 0 : h.gid);
  writeOctal(block, 124, 12, h.size > max12 ? 0 : h.size);
  writeOctal(block, 136, 12, h.mtime < 0 || h.mtime > max12 ? 0 : h.mtime);
  block.write(typeFlag, 156, 1, 'ascii');
  block.write(h.linkname, 157, 100, 'utf8');
  block.write('ustar\u000000', 257, 8, 'ascii');
  // uname/gname stay empty: names depend on the host's passwd, ids are what count.
  writeOctal(block, 329, 8, h.devmajor);
  writeOctal(block, 337, 8, h.devminor);
  block.write(h.prefix, 345, 155, 'utf8');
  block.fill(0x20, 148, 156);
  writeOctal(block, 148, 7, checksum(block));
  return block;
}

function writeOctal(block: Buffer, offset: number, width: number, value: number): void {
  block.write(
    Math.floor(value)
      .toString(8)
      .padStart(width - 1, '0'),
    offset,
    width - 1,
    'ascii',
  );
  block[offset + width - 1] = 0;
}

function checksum(block: Buffer): number {
  let sum = 0;
  // An indexed loop: the iterator protocol costs several times more per byte (20,000 headers a layer).
  for (let i = 0; i < block.length; i++) sum += block[i] as number;
  return sum;
}

/** Splits a path into ustar prefix (≤155) + name (≤100), or undefined when it cannot fit. */
function splitUstarName(name: string): { prefix: string; name: string } | undefined {
  if (!fitsAscii(name, 256)) return undefined;
  if (name.length <= 100) return { prefix: '', name };
  for (let cut = name.indexOf('/'); cut !== -1; cut = name.indexOf('/', cut + 1)) {
    const prefix = name.slice(0, cut);
    const rest = name.slice(cut + 1);
    if (prefix.length <= 155 && rest.length <= 100 && rest !== '') return { prefix, name: rest };
  }
  return undefined;
}

function fitsAscii(text: string, max: number): boolean {
  return text.length <= max && /^[\x01-\x7f]*$/.test(text);
}

function asciiPrefix(text: string, max: number): string {
  return text.replace(/[^\x01-\x7f]/g, '_').slice(0, max);
}

/** PAX records `"<len> <key>=<value>\n"`, keys sorted for determinism, values raw bytes. */
function encodePaxRecords(records: Map<string, Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const key of [...records.keys()].sort()) {
    const body = Buffer.concat([Buffer.from(` ${key}=`), records.get(key) as Buffer, Buffer.from('\n')]);
    let length = body.length + 1;
    while (String(length).length + body.length !== length) length = String(length).length + body.length;
    parts.push(Buffer.from(String(length)), body);
  }
  return Buffer.concat(parts);
}

function padToBlock(data: Buffer): Buffer {
  return Buffer.concat([data, paddingFor(data.length)]);
}
