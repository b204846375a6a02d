import { spawnSync } from 'node:child_process';

import test from 'ava';

test('without a binary for the platform, loading names platform, arch, libc and what to do', (t) => {
  // A child that pretends to run on an architecture nothing is built for.
  const script = `
    Object.defineProperty(process, 'arch', { value: 'mips' });
    try { require('evasync'); console.log('loaded'); }
    catch (e) { console.log(e.message); }
  `;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const msg = r.stdout.trim();
  t.regex(msg, /no prebuilt binary for platform linux, arch mips, libc (glibc|musl)/);
  t.regex(msg, /Supported: linux-x64-gnu/);
  t.regex(msg, /npm run build/);
});

test('a supported platform whose package is missing is told which package to install', (t) => {
  // Hide the local binary and the platform package from the loader.
  const script = `
    const fs = require('fs');
    const real = fs.existsSync;
    fs.existsSync = (p) => String(p).endsWith('.node') ? false : real(p);
    const Module = require('module');
    const orig = Module._resolveFilename;
    Module._resolveFilename = function (req, ...rest) {
      if (/evasync-linux|evasync\\.linux|\\.node$/.test(req)) { const e = new Error('not found: ' + req); e.code = 'MODULE_NOT_FOUND'; throw e; }
      return orig.call(this, req, ...rest);
    };
    try { require('evasync'); console.log('loaded'); }
    catch (e) { console.log(e.message); }
  `;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /no native binary could be loaded for platform linux, arch x64, libc glibc/);
  t.regex(r.stdout, /npm install evasync-linux-x64-gnu/);
});
