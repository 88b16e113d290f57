// Third-party notices for a bundle: every npm package esbuild put into it, with its licence text.
// The bundle is minified, so the notices cannot stay in it as comments alone (esbuild keeps the few
// `/*! ... */` ones with legalComments: 'eof'); this file is shipped beside it:
//   slamdunk_lab/static/THIRD_PARTY_NOTICES.txt
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const LICENSE_FILE = /^(licen[cs]e|copying|notice)(\.(md|txt|markdown))?$/i;

/** The folder of the npm package a bundled input file belongs to, or null for our own sources. */
function packageDir(root, input) {
  const parts = input.split('/');
  const at = parts.lastIndexOf('node_modules');
  if (at < 0) {
    return null;
  }
  const length = parts[at + 1]?.startsWith('@') ? 2 : 1;
  return path.join(root, ...parts.slice(0, at + 1 + length));
}

/** Name, version, licence id and licence text(s) of one package folder. */
function describe(dir) {
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const texts = readdirSync(dir)
    .filter(name => LICENSE_FILE.test(name))
    .sort()
    .map(name => readFileSync(path.join(dir, name), 'utf8').trim());
  const license = typeof pkg.license === 'string' ? pkg.license : pkg.license?.type ?? 'UNKNOWN';
  return { name: pkg.name, version: pkg.version, license, texts };
}

/**
 * Write `outFile` listing the npm packages among `metafile.inputs` (esbuild's metafile), sorted by name.
 * Throws when a bundled package names no licence: shipping it would break the notice requirement.
 */
export function writeNotices(root, metafile, outFile, bundleName) {
  const dirs = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    const dir = packageDir(root, input.replace(/^[^:]+:/, ''));
    if (dir && existsSync(path.join(dir, 'package.json'))) {
      dirs.add(dir);
    }
  }
  const packages = [...dirs].map(describe).sort((a, b) => a.name.localeCompare(b.name));
  const unlicensed = packages.filter(p => p.license === 'UNKNOWN' && p.texts.length === 0);
  if (unlicensed.length) {
    throw new Error(`bundled packages without a licence: ${unlicensed.map(p => p.name).join(', ')}`);
  }
  const lines = [
    `Third-party software bundled in ${bundleName}`,
    '',
    `${bundleName} is built from SLaM Dunk Lab's own sources (MIT, see LICENSE) and the npm packages below.`,
    'Each is listed with its version, its licence and the licence text it ships.',
    ''
  ];
  for (const p of packages) {
    lines.push('='.repeat(78), `${p.name} ${p.version} (${p.license})`, '='.repeat(78), '');
    lines.push(p.texts.length ? p.texts.join('\n\n---\n\n') : `Licensed under ${p.license}.`, '');
  }
  writeFileSync(outFile, lines.join('\n'));
  return packages;
}
