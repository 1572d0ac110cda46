/**
 * @napi-rs/xattr, loaded with require on first use. Imported from ESM, its large CommonJS loader
 * is parsed for named exports at every start (a few ms), though a cached build whose context
 * files all hit the stat cache never reads an xattr.
 */
import { createRequire } from 'node:module';

type Xattr = typeof import('@napi-rs/xattr');

let loaded: Xattr | undefined;

/** The module's functions (getAttribute, setAttribute, listAttributesSync …). */
export function xattr(): Xattr {
  loaded ??= createRequire(import.meta.url)('@napi-rs/xattr') as Xattr;
  return loaded;
}
