// The programs a live-UI browser test starts (build/hornet, build/target)
// and how it waits for what they print. Every child started here is
// killed by killAll(), which the tests call from their after() hook.
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ROOT } from './browser.mjs';

export const HORNET = join(ROOT, 'build', 'hornet');
export const TARGET = join(ROOT, 'build', 'target');

// Why the binaries are not there, or '' when they are. Under CI a missing
// one is a failure (make test builds them), not a skip.
export function binariesMissing() {
  if (existsSync(HORNET) && existsSync(TARGET)) return '';
  const why = 'build/hornet or build/target missing: run make';
  if (process.env.CI) throw new Error(why);
  return why;
}

const children = [];

// Starts bin; child.out collects its stdout and stderr.
export function start(bin, args) {
  const child = spawn(bin, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  child.out = '';
  child.stdout.on('data', (d) => { child.out += d; });
  child.stderr.on('data', (d) => { child.out += d; });
  return child;
}

// Resolves with the first match of re in what child printed; rejects if
// it exits first or nothing matches within ms.
export function waitOutput(child, re, ms = 10000) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = () => {
      const m = child.out.match(re);
      if (m) return resolve(m);
      if (child.exitCode !== null) return reject(new Error(`exited (${child.exitCode}): ${child.out}`));
      if (Date.now() - t0 > ms) return reject(new Error(`no ${re} within ${ms} ms: ${child.out}`));
      setTimeout(tick, 50);
    };
    tick();
  });
}

export function killAll(signal = 'SIGKILL') {
  for (const c of children) if (c.exitCode === null) c.kill(signal);
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
