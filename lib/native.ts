/**
 * Loads the platform binary through napi-rs's generated loader (`binding.js` at the package
 * root). Compiled code lives in `dist/lib/`, sources in `lib/`: both reach the root.
 */
import type * as Binding from '../binding';

function load(): typeof Binding {
  const tried: string[] = [];
  for (const p of ['../../binding.js', '../binding.js']) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(p) as typeof Binding;
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code !== 'MODULE_NOT_FOUND' || !String(err.message).includes('binding.js')) throw e;
      tried.push(p);
    }
  }
  throw new Error(`evasync: the native binding loader was not found (tried ${tried.join(', ')}); run \`npm run build\``);
}

export const native = load();
export type NativeLoop = Binding.NativeLoop;
