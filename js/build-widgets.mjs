// Bundle the notebook widgets into one ESM per view for anywidget (each widget instance stores its `_esm`
// in a saved notebook, so a monitor must not carry the canvas's React Flow):
//   slamdunk_lab/static/<view>.js + <view>.css   for view in canvas, monitor, playground, runs
// React Flow's stylesheet is imported as text (`?text`) and injected at run time by the canvas.
// Usage: node js/build-widgets.mjs [--watch] [--dev] [--metafile]
import * as esbuild from 'esbuild';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeNotices } from './notices.mjs';

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

/** The canvas runs on React (React Flow needs it); the small views on Preact's React API (about 15 kB instead
 * of React DOM's 200 kB), so a saved monitor, playground or runs browser stays small. */
const VIEWS = { canvas: 'react', monitor: 'preact', playground: 'preact', runs: 'preact' };
const PREACT_ALIASES = {
  react: 'preact/compat',
  'react-dom': 'preact/compat',
  'react-dom/client': 'preact/compat/client',
  'react/jsx-runtime': 'preact/jsx-runtime'
};

const common = {
  outdir: path.join(root, 'slamdunk_lab/static'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2021'],
  jsx: 'automatic',
  minify: !dev,
  sourcemap: dev ? 'inline' : false,
  legalComments: 'eof', // licence comments kept; full texts in THIRD_PARTY_NOTICES.txt (js/notices.mjs)
  define: { 'process.env.NODE_ENV': JSON.stringify(dev ? 'development' : 'production') },
  plugins: [textPlugin],
  metafile: process.argv.includes('--metafile'),
  logLevel: 'info'
};

const builds = [
  { ...common, entryPoints: { canvas: path.join(root, 'js/views/canvas.ts') } },
  {
    ...common,
    entryPoints: Object.fromEntries(
      Object.entries(VIEWS)
        .filter(([, lib]) => lib === 'preact')
        .map(([v]) => [v, path.join(root, `js/views/${v}.ts`)])
    ),
    alias: PREACT_ALIASES
  }
];

if (watch) {
  for (const options of builds) {
    const ctx = await esbuild.context(options);
    await ctx.watch();
  }
  console.log('watching js/ … (set ANYWIDGET_HMR=1 in the kernel for hot reload)');
} else {
  const inputs = {};
  for (const options of builds) {
    const result = await esbuild.build({ ...options, metafile: true });
    Object.assign(inputs, result.metafile.inputs);
    if (process.argv.includes('--metafile')) {
      console.log(await esbuild.analyzeMetafile(result.metafile));
    }
  }
  // every npm package in any bundle, with its licence text, beside the bundles
  writeNotices(root, { inputs }, path.join(common.outdir, 'THIRD_PARTY_NOTICES.txt'), 'the widget bundles');
}
