/**
 * @napi-rs/xattr, loaded with require on first use. Imported from ESM, its large CommonJS loader
 * is parsed for named exports at every start (a few ms), though a cached build whose context
 * files all hit the stat cache never reads an xattr.
 *
 * On Linux the glibc binding is tried directly: the package's own loader first reads
 * /usr/bin/ldd to tell glibc from musl, half of its load, which the first changed file of a
 * rebuild waited for. Where that binding is not there or does not load (musl), the loader decides.
 */
import { createRequire } from 'node:module';

type Xattr = typeof import('@napi-rs/xattr');

let loaded: Xattr | undefined;

/** The module's functions (getAttribute, setAttribute, listAttributesSync …). */
export function xattr(): Xattr {
  loaded ??= load();
  return loaded;
}

function load(): Xattr {
  const require = createRequire(import.meta.url);
  if (process.platform === 'linux') {
    try {
      return require(`@napi-rs/xattr-linux-${process.arch}-gnu`) as Xattr;
    } catch {
      // Not installed under that name: the package's loader finds it.
    }
  }
  return require('@napi-rs/xattr') as Xattr;
}
