// npm stand-in for hatch-jupyter-builder's npm_builder, so that building the
// wheel or an editable install runs exactly `npm ci && npm run build`:
//   node js/npm-ci-build.mjs install    → npm ci (skipped when node_modules matches the lock file)
//   node js/npm-ci-build.mjs run build  → npm run build
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function mtime(p) {
  try {
    return statSync(path.join(root, p)).mtimeMs;
  } catch {
    return -1;
  }
}

function npmRun(args) {
  console.log(`[slamdunk-lab] npm ${args.join(' ')}`);
  const res = spawnSync(npm, args, { stdio: 'inherit', cwd: root, shell: process.platform === 'win32' });
  if (res.status !== 0) {
    process.exit(res.status ?? 1);
  }
}

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === 'install') {
  const installed = mtime('node_modules/.package-lock.json');
  if (installed >= 0 && installed >= mtime('package-lock.json')) {
    console.log('[slamdunk-lab] node_modules is up to date with package-lock.json; skipping npm ci');
  } else {
    npmRun(['ci']);
  }
} else {
  npmRun([cmd, ...rest]);
}
