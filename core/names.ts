/**
 * Paths and names as error messages show them: bytes that are not UTF-8 (and control characters)
 * as `\xNN`, so the message says which bytes they are, and a long path cut in its middle, so a
 * 4 KiB path stays one readable line.
 */

/** Bytes of `name` as text: valid UTF-8 as is, anything else (and control characters) as `\xNN`. */
function escapedBytes(bytes: Buffer): string {
  let shown = '';
  for (let at = 0; at < bytes.length; ) {
    const lead = bytes[at] ?? 0;
    const length = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc2 ? 2 : 0;
    const slice = bytes.subarray(at, at + length);
    const text = length > 0 ? slice.toString('utf8') : '';
    // Valid only when it decodes to one character and back to the same bytes.
    if (length > 0 && slice.length === length && !text.includes('\uFFFD') && Buffer.from(text).equals(slice)) {
      shown += lead < 0x20 || lead === 0x7f ? `\\x${lead.toString(16).padStart(2, '0')}` : text;
      at += length;
    } else {
      shown += `\\x${lead.toString(16).padStart(2, '0')}`;
      at += 1;
    }
  }
  return shown;
}

/** `name` for a message: escaped (see above), quoted, and cut in the middle past `max` characters. */
export function shownName(name: string | Buffer, max = 100): string {
  const text = escapedBytes(typeof name === 'string' ? Buffer.from(name) : name);
  const cut = text.length <= max ? text : `${text.slice(0, max - 40)}…${text.slice(-39)}`;
  return `"${cut}"`;
}
