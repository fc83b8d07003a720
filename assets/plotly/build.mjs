// Build plotly-lab.min.js, Plotly.js with only the trace types the Lab draws, and
// plotly-lab.json, which tells serve.py where Plotly sits inside Streamlit's chart chunk.
//
//     npm ci && node build.mjs <Streamlit's static/js folder>      (or: make plotly)
//
// Streamlit's chart chunk carries all of Plotly.js (4.7 MB, 48 trace types); a browser
// spends about 0.85 s evaluating it before a new session's first chart can be drawn. The
// Lab draws five trace types. Plotly's own way to ship fewer is a custom bundle (its
// CUSTOM_BUNDLE.md): core (scatter and every layout component) plus the chosen traces,
// built with the esbuild settings of Plotly's esbuild-config.js. serve.py sends Streamlit's
// chunk with that bundle in place of the full one; everything else in the chunk, Streamlit's
// chart component, is byte for byte Streamlit's.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createRequire } from 'node:module';

import * as acorn from 'acorn';
import * as esbuild from 'esbuild';
import { environmentPlugin } from 'esbuild-plugin-environment';
import { glsl } from 'esbuild-plugin-glsl';
import InlineCSSPlugin from 'esbuild-plugin-inline-css';

// The trace types of Plotly's lib/ folder the Lab draws, besides scatter (always in core).
// tests/test_plotly_bundle.py checks that charts/ and app_pages/ use no other.
const TRACES = ['bar', 'heatmap', 'histogram', 'scattergl'];

const here = new URL('.', import.meta.url).pathname;
const require = createRequire(import.meta.url);
const version = require('plotly.js/package.json').version;

const folder = process.argv[2];
if (!folder) {
  console.error('usage: node build.mjs <path of streamlit/static/static/js>');
  process.exit(2);
}

// 1. The bundle: an IIFE that defines `Plotly`, as Plotly's own dist files are built.
const entry = [
  "var Plotly = require('plotly.js/lib/core');",
  `Plotly.register([${TRACES.map((t) => `require('plotly.js/lib/${t}')`).join(', ')}]);`,
  'module.exports = Plotly;',
].join('\n');
const built = await esbuild.build({
  stdin: { contents: entry, resolveDir: here, sourcefile: 'lab-plotly-entry.js' },
  write: false,
  format: 'iife',
  globalName: 'Plotly',
  bundle: true,
  minify: true,
  banner: { js: `/*! plotly.js v${version} (scatter, ${TRACES.join(', ')}) | MIT license */` },
  plugins: [InlineCSSPlugin(), glsl({ minify: true }), environmentPlugin({ NODE_DEBUG: false })],
  alias: { regl: '@plotly/regl', stream: 'stream-browserify' },
  define: { global: 'window', 'define.amd': 'false' },
  target: 'es2016',
  logLevel: 'warning',
});
const bundle = built.outputFiles[0].contents;
writeFileSync(join(here, 'plotly-lab.min.js'), bundle);

// 2. Where Plotly sits in Streamlit's chunk: the body of the CommonJS wrapper
//    `(exports, module, ...) => { (function (root, factory) {...UMD...})(...) }`.
const [chunk, ...others] = readdirSync(folder).filter(
  (name) => /^PlotlyChart\.[\w-]+\.js$/.test(name));
if (!chunk || others.length) throw new Error(`expected one PlotlyChart chunk in ${folder}`);
const bytes = readFileSync(join(folder, chunk));
const source = bytes.toString('utf8');
const wrappers = [];
(function walk(node) {
  if (node.type === 'ArrowFunctionExpression' && node.body.type === 'BlockStatement'
      && node.params.length >= 2
      && source.slice(node.body.start, node.body.start + 120).includes('.moduleName=')) {
    wrappers.push(node);
  }
  for (const value of Object.values(node)) {
    for (const child of Array.isArray(value) ? value : [value]) {
      if (child && typeof child.type === 'string') walk(child);
    }
  }
})(acorn.parse(source, { ecmaVersion: 'latest', sourceType: 'module' }));
if (wrappers.length !== 1) throw new Error(`found ${wrappers.length} Plotly wrappers in ${chunk}`);
const [wrapper] = wrappers;
// acorn counts UTF-16 code units; serve.py splices bytes.
const offset = (index) => Buffer.byteLength(source.slice(0, index), 'utf8');

const plan = {
  plotly: version,
  traces: ['scatter', ...TRACES],
  bundle: { file: 'plotly-lab.min.js', sha256: createHash('sha256').update(bundle).digest('hex') },
  streamlit_chunk: {
    file: basename(chunk),
    sha256: createHash('sha256').update(bytes).digest('hex'),
    body_start: offset(wrapper.body.start),
    body_end: offset(wrapper.body.end),
    module: wrapper.params[1].name,
  },
};
writeFileSync(join(here, 'plotly-lab.json'), `${JSON.stringify(plan, null, 2)}\n`);
console.log(`plotly-lab.min.js: ${bundle.length} bytes (Plotly ${version}: ${plan.traces.join(', ')});`
  + ` replaces bytes ${plan.streamlit_chunk.body_start}-${plan.streamlit_chunk.body_end}`
  + ` of ${chunk} (${bytes.length} bytes)`);
