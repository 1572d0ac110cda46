/** Where the store is: `--root`, else `$TZBUILD_ROOT`, /var/lib/tzbuild as root, ~/.local/share/tzbuild. */
import { defaultStoreRoot } from '../store/layout.js';

/** `--root`, else the default (`$TZBUILD_ROOT`, /var/lib/tzbuild for root, ~/.local/share/tzbuild). */
export function storeRoot(flag?: string): string {
  return flag !== undefined && flag !== '' ? flag : defaultStoreRoot();
}
