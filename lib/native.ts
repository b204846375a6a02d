/**
 * Loads the platform binary through napi-rs's generated loader (`binding.js` at the package
 * root), which tries a local `evasync.<platform>.node` and then the platform package
 * (`evasync-linux-x64-gnu`, …). When no binary fits, the error says which platform, arch and
 * libc this is and which package to install. Compiled code lives in `dist/lib/`, sources in
 * `lib/`: both reach the root.
 */
import type * as Binding from '../binding';

/** The npm packages of the prebuilt binaries, by `platform-arch[-abi]`. */
export const PLATFORM_PACKAGES: Readonly<Record<string, string>> = {
  'linux-x64-gnu': 'evasync-linux-x64-gnu',
  'linux-x64-musl': 'evasync-linux-x64-musl',
  'linux-arm64-gnu': 'evasync-linux-arm64-gnu',
  'linux-arm64-musl': 'evasync-linux-arm64-musl',
  'darwin-x64': 'evasync-darwin-x64',
  'darwin-arm64': 'evasync-darwin-arm64',
  'win32-x64': 'evasync-win32-x64-msvc',
};

/** `'glibc'`, `'musl'`, or `''` off Linux. */
export function detectLibc(): string {
  if (process.platform !== 'linux') return '';
  const report = (process.report?.getReport?.() ?? {}) as { header?: { glibcVersionRuntime?: string } };
  return report.header?.glibcVersionRuntime ? 'glibc' : 'musl';
}

/** The message for a platform without a usable binary. */
export function missingBinaryMessage(platform: string, arch: string, libc: string): string {
  const abi = platform === 'linux' ? (libc === 'musl' ? '-musl' : '-gnu') : '';
  const key = `${platform}-${arch}${abi}`;
  const pkg = PLATFORM_PACKAGES[key];
  const where = `platform ${platform}, arch ${arch}${libc ? `, libc ${libc}` : ''}`;
  if (pkg) {
    return (
      `evasync: no native binary could be loaded for ${where}. Install the prebuilt package: ` +
      `\`npm install ${pkg}\` (it is an optional dependency of evasync; installs made with ` +
      `--no-optional or on another machine miss it), or build from source with \`npm run build\`.`
    );
  }
  return (
    `evasync: there is no prebuilt binary for ${where}. Supported: ${Object.keys(PLATFORM_PACKAGES).join(', ')}. ` +
    `Build from source with Rust installed: \`npm run build\` in the evasync package.`
  );
}

function load(): typeof Binding {
  const tried: string[] = [];
  for (const p of ['../../binding.js', '../binding.js']) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(p) as typeof Binding;
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'MODULE_NOT_FOUND' && String(err.message).includes('binding.js')) {
        tried.push(p);
        continue;
      }
      if (/Cannot find native binding|Failed to load native binding/.test(String(err.message))) {
        const wrapped = new Error(missingBinaryMessage(process.platform, process.arch, detectLibc()));
        (wrapped as Error & { cause?: unknown }).cause = err;
        throw wrapped;
      }
      throw e;
    }
  }
  throw new Error(`evasync: the native binding loader was not found (tried ${tried.join(', ')}); run \`npm run build\``);
}

export const native = load();
export type NativeLoop = Binding.NativeLoop;
