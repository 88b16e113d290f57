// Bundle the notebook widgets (js/widgets.tsx) into ONE ESM file for anywidget:
//   slamdunk_lab/static/widgets.js  (+ widgets.css from our own stylesheets)
// React Flow's stylesheet is imported as text (`?text`) and injected at run time.
// Usage: node js/build-widgets.mjs [--watch] [--dev]
import * as esbuild from 'esbuild';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const watch = process.argv.includes('--watch');
const dev = watch || process.argv.includes('--dev');

/** `import css from 'pkg/file.css?text'` → the file's contents as a string. */
const textPlugin = {
  name: 'text-query',
  setup(build) {
    build.onResolve({ filter: /\?text$/ }, async args => {
      const res = await build.resolve(args.path.slice(0, -'?text'.length), {
        kind: args.kind,
        resolveDir: args.resolveDir
      });
      if (res.errors.length) {
        return { errors: res.errors };
      }
      return { path: res.path, namespace: 'text-query' };
    });
    build.onLoad({ filter: /.*/, namespace: 'text-query' }, async args => ({
      contents: await readFile(args.path, 'utf8'),
      loader: 'text',
      watchFiles: [args.path]
    }));
  }
};

const options = {
  entryPoints: { widgets: path.join(root, 'js/widgets.tsx') },
  outdir: path.join(root, 'slamdunk_lab/static'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2021'],
  jsx: 'automatic',
  minify: !dev,
  sourcemap: dev ? 'inline' : false,
  legalComments: 'none',
  define: { 'process.env.NODE_ENV': JSON.stringify(dev ? 'development' : 'production') },
  plugins: [textPlugin],
  logLevel: 'info'
};

if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
  console.log('watching js/ … (set ANYWIDGET_HMR=1 in the kernel for hot reload)');
} else {
  await esbuild.build(options);
}
