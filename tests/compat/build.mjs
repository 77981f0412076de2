#!/usr/bin/env node
// Regenerates the compatibility suite's assets from tests/compat/manifest.json:
//   js/NAME/NAME.js        the library as one IIFE file (esbuild bundle of the pinned npm package)
//   js/NAME/LICENSE        the package's license file
//   js/NAME/expected.json  handler.js's result for input.json, computed by node in a fresh `vm` context
//   lua/NAME/NAME.lua      the library's modules from the pinned Debian package, wrapped in a module table
//   lua/NAME/LICENSE       the package's copyright file
//   lua/NAME/expected.json handler.lua's result for input.json, computed by lua5.4 (lua/runner.lua)
// handler.* and input.json are written by hand and never touched here.
//
// Usage: node tests/compat/build.mjs [--scratch DIR] [--only NAME,NAME] [--no-fetch] [--refs-only]
//   --scratch DIR  where npm packages and Debian packages are fetched (default: $TMPDIR/vmpool-compat)
//   --only         rebuild only these libraries
//   --no-fetch     do not run npm install / apt-get download (use what the scratch directory has)
//   --refs-only    keep the library files, recompute expected.json only
// Needs node >= 20, npm, lua5.4 and apt-get (Debian) on PATH.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import vm from 'node:vm';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

process.env.TZ = 'UTC';
const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const flag = (name) => args.includes(name);
const scratch = path.resolve(opt('--scratch') ?? path.join(os.tmpdir(), 'vmpool-compat'));
const only = opt('--only')?.split(',');
const fetch = !flag('--no-fetch');
const refsOnly = flag('--refs-only');
const ESBUILD = '0.28.2';

const manifest = JSON.parse(fs.readFileSync(path.join(here, 'manifest.json'), 'utf8'));
const wanted = (lib) => !only || only.includes(lib.name);
const run = (cmd, argv, cwd) => execFileSync(cmd, argv, { cwd, stdio: ['ignore', 'pipe', 'inherit'] }).toString();

// ---------------------------------------------------------------------------------------------------------------
// JavaScript

function fetchNpm(libs) {
  const dir = path.join(scratch, 'npm');
  fs.mkdirSync(dir, { recursive: true });
  if (!fs.existsSync(path.join(dir, 'package.json'))) {
    fs.writeFileSync(path.join(dir, 'package.json'), '{"name": "vmpool-compat-scratch", "private": true}\n');
  }
  const specs = [`esbuild@${ESBUILD}`, ...libs.map((l) => `${l.package}@${l.version}`)];
  run('npm', ['install', '--no-audit', '--no-fund', '--save-exact', ...specs], dir);
}

/// A strict JSON form of a result, as the engines convert it: plain objects, arrays, strings, finite numbers,
/// booleans and null only (undefined, functions, symbols, class instances and cycles are errors).
function toJson(value, where = 'result', seen = new Set()) {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value !== 'object') throw new Error(`${where}: a ${typeof value} has no JSON form`);
  if (seen.has(value)) throw new Error(`${where}: cyclic`);
  seen.add(value);
  let out;
  if (Array.isArray(value)) {
    out = value.map((v, i) => toJson(v, `${where}[${i}]`, seen));
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== null && Object.getPrototypeOf(proto) !== null) {
      throw new Error(`${where}: not a plain object (${proto.constructor?.name})`);
    }
    out = {};
    for (const k of Object.keys(value)) out[k] = toJson(value[k], `${where}.${k}`, seen);
  }
  seen.delete(value);
  return out;
}

/// What a fresh `vm` context lacks that a library needs, from the manifest's `needs` (Intl is built in).
function hostGlobals(needs = []) {
  const g = {};
  if (needs.includes('console')) g.console = console;
  if (needs.includes('crypto')) g.crypto = crypto.webcrypto;
  if (needs.includes('TextEncoder')) Object.assign(g, { TextEncoder, TextDecoder });
  return g;
}

async function jsReference(lib, dir) {
  const prelude = fs.readFileSync(path.join(dir, `${lib.name}.js`), 'utf8') + '\n' +
    fs.readFileSync(path.join(dir, 'handler.js'), 'utf8');
  const input = fs.readFileSync(path.join(dir, 'input.json'), 'utf8');
  const ctx = vm.createContext(hostGlobals(lib.needs));
  vm.runInContext(prelude, ctx, { filename: `${lib.name}/prelude.js` });
  // The input is parsed inside the context, so that its objects have the context's prototypes.
  const parsed = vm.runInContext('JSON.parse', ctx)(input);
  // A promise is settled first, as the engines do.
  return toJson(await vm.runInContext('handle', ctx)(parsed));
}

async function buildJs(lib, nodeModules) {
  const dir = path.join(here, 'js', lib.name);
  fs.mkdirSync(dir, { recursive: true });
  const pkgDir = path.join(nodeModules, lib.package);
  const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  if (pkg.version !== lib.version) throw new Error(`${lib.name}: installed ${pkg.version}, manifest pins ${lib.version}`);
  if (!refsOnly) {
    const esbuild = createRequire(path.join(nodeModules, 'x.js'))('esbuild');
    const global = lib.global ?? lib.name.replace(/[^A-Za-z0-9_$]/g, '');
    const entry = lib.entry ?? `globalThis.${global} = require(${JSON.stringify(lib.package)});`;
    const out = esbuild.buildSync({
      stdin: { contents: entry, resolveDir: path.dirname(nodeModules), sourcefile: 'entry.js' },
      bundle: true,
      format: 'iife',
      platform: 'browser',
      minify: true,
      legalComments: 'none',
      write: false,
      logLevel: 'error',
    });
    const header = `/* ${lib.package} ${lib.version} from npm, bundled by tests/compat/build.mjs with esbuild ${ESBUILD}` +
      ` (entry: ${entry}); license: LICENSE */\n`;
    fs.writeFileSync(path.join(dir, `${lib.name}.js`), header + out.outputFiles[0].text);
    const licenseName = lib.license ?? fs.readdirSync(pkgDir).find((f) => /^(licen[cs]e|copying)/i.test(f));
    if (licenseName) {
      fs.copyFileSync(path.join(pkgDir, licenseName), path.join(dir, 'LICENSE'));
    } else {
      const author = typeof pkg.author === 'object' ? pkg.author.name : pkg.author;
      fs.writeFileSync(path.join(dir, 'LICENSE'),
        `${lib.package} ${lib.version}: license "${pkg.license}" (package.json), copyright ${author}.\n` +
        'The package ships no license file; see https://opensource.org/license/mit for the MIT license text.\n');
    }
  }
  const expected = await jsReference(lib, dir);
  fs.writeFileSync(path.join(dir, 'expected.json'), JSON.stringify(expected, null, 2) + '\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Lua

function fetchDebs(libs) {
  const dir = path.join(scratch, 'debs');
  fs.mkdirSync(dir, { recursive: true });
  run('apt-get', ['download', ...libs.map((l) => `${l.deb}=${l.version}`)], dir);
}

function extractDeb(lib) {
  const debs = path.join(scratch, 'debs');
  const file = fs.readdirSync(debs).find((f) => f.startsWith(`${lib.deb}_`) && f.endsWith('.deb'));
  if (!file) throw new Error(`${lib.name}: no ${lib.deb} package in ${debs}`);
  const version = run('dpkg-deb', ['-f', path.join(debs, file), 'Version']).trim();
  if (version !== lib.version) throw new Error(`${lib.name}: ${file} is ${version}, manifest pins ${lib.version}`);
  const root = path.join(scratch, 'lua-root', lib.deb);
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true });
  run('dpkg-deb', ['-x', path.join(debs, file), root]);
  return root;
}

/// The modules as one chunk: each module's source becomes a function in a table, and a local `require` (which
/// every module and the handler see as an upvalue) runs each once, as Lua's own `require` does.
function luaBundle(lib, root) {
  const base = path.join(root, 'usr/share/lua', lib.dir ?? '5.1');
  let out = `-- ${lib.deb} ${lib.version} from Debian, modules wrapped by tests/compat/build.mjs; license: LICENSE\n` +
    'local require\nlocal __compat_sources = {}\n';
  for (const [mod, file] of Object.entries(lib.modules)) {
    let src = fs.readFileSync(path.join(base, file), 'utf8').replace(/^#![^\n]*/, '');
    out += `__compat_sources[${JSON.stringify(mod)}] = function(...)\n${src}\nend\n`;
  }
  out += `local __compat_loaded = {}
require = function(name)
  local loaded = __compat_loaded[name]
  if loaded ~= nil then return loaded end
  local source = __compat_sources[name]
  if source == nil then
    -- A standard library asked for by name (Penlight asks for 'debug'): what the environment has.
    local std = _ENV[name]
    if std ~= nil then return std end
    error("module '" .. tostring(name) .. "' not found", 2)
  end
  loaded = source(name)
  if loaded == nil then loaded = true end
  __compat_loaded[name] = loaded
  return loaded
end
`;
  return out;
}

function buildLua(lib, dkjsonPath) {
  const dir = path.join(here, 'lua', lib.name);
  fs.mkdirSync(dir, { recursive: true });
  if (!refsOnly) {
    const root = extractDeb(lib);
    fs.writeFileSync(path.join(dir, `${lib.name}.lua`), luaBundle(lib, root));
    fs.copyFileSync(path.join(root, 'usr/share/doc', lib.deb, 'copyright'), path.join(dir, 'LICENSE'));
  }
  const prelude = path.join(scratch, `${lib.name}.prelude.lua`);
  fs.writeFileSync(prelude, fs.readFileSync(path.join(dir, `${lib.name}.lua`), 'utf8') + '\n' +
    fs.readFileSync(path.join(dir, 'handler.lua'), 'utf8'));
  const out = run('lua5.4', [path.join(here, 'lua', 'runner.lua'), dkjsonPath, prelude, path.join(dir, 'input.json')]);
  fs.writeFileSync(path.join(dir, 'expected.json'), JSON.stringify(JSON.parse(out), null, 2) + '\n');
}

// ---------------------------------------------------------------------------------------------------------------

const jsLibs = manifest.js.filter(wanted);
const luaLibs = manifest.lua.filter(wanted);
if (fetch && jsLibs.length && !refsOnly) fetchNpm(jsLibs);
if (fetch && !refsOnly) fetchDebs(manifest.lua.filter((l) => wanted(l) || l.name === 'dkjson'));
const nodeModules = path.join(scratch, 'npm', 'node_modules');
let failed = 0;
for (const lib of jsLibs) {
  try {
    await buildJs(lib, nodeModules);
    console.log(`js  ${lib.name}: ok`);
  } catch (e) {
    failed++;
    console.log(`js  ${lib.name}: FAILED: ${e.stack ?? e}`);
  }
}
if (luaLibs.length) {
  // The reference runner reads and writes JSON with dkjson from its Debian package.
  const dkjson = manifest.lua.find((l) => l.name === 'dkjson');
  const dkjsonPath = path.join(scratch, 'lua-root', dkjson.deb, 'usr/share/lua', dkjson.dir ?? '5.1', 'dkjson.lua');
  if (!fs.existsSync(dkjsonPath)) extractDeb(dkjson);
  for (const lib of luaLibs) {
    try {
      buildLua(lib, dkjsonPath);
      console.log(`lua ${lib.name}: ok`);
    } catch (e) {
      failed++;
      console.log(`lua ${lib.name}: FAILED: ${e.message ?? e}`);
    }
  }
}
if (failed) {
  console.log(`${failed} libraries failed`);
  process.exit(1);
}
