// Build the prebuilt JupyterLab extension into slamdunk_lab/labextension/
// with @jupyter/builder (rspack + module federation) against the JupyterLab
// core metadata in @jupyterlab/core-meta. No Python needed.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
const builder = require.resolve('@jupyter/builder/lib/build-labextension.js');
const coreMeta = require.resolve('@jupyterlab/core-meta/core.package.json');
const extra = process.argv.slice(2);
const res = spawnSync(
  process.execPath,
  [builder, '--core-package-file', coreMeta, ...extra, root],
  { stdio: 'inherit', cwd: root }
);
process.exit(res.status ?? 1);
