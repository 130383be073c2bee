import { minify } from 'terser';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
const code = readFileSync('/work/scratch/sdk/widget.raw.js','utf8');
const base = { ecma: 2020, compress: { passes: 3, unsafe_arrows: true, pure_getters: true, pure_funcs: ['this._debug'] }, mangle: { properties: { regex: /^_[A-Za-z]/ } }, format: { comments: false } };
const variants = {
  base,
  unsafe: {...base, compress:{...base.compress, unsafe:true}},
  unsafe_all: {...base, compress:{...base.compress, unsafe:true, unsafe_methods:true, unsafe_comps:true, unsafe_math:true, unsafe_proto:true, unsafe_regexp:true, unsafe_undefined:true, hoist_funs:true}},
  passes5: {...base, compress:{...base.compress, passes:5}},
  toplevel: {...base, toplevel:true},
  ecma2022: {...base, ecma:2022},
};
for (const [k,v] of Object.entries(variants)) { const r = await minify(code, v); console.log(k, r.code.length, gzipSync(r.code,{level:9}).length); }
