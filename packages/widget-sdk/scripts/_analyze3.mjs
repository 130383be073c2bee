import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
const require = createRequire('/work/main/node_modules/.pnpm/source-map-js@1.2.4/node_modules/source-map-js/package.json');
const { SourceMapConsumer } = require('source-map-js');
const code = readFileSync('dist/widget.js','utf8'); const map = new SourceMapConsumer(JSON.parse(readFileSync('dist/widget.js.map','utf8')));
const lines = code.split('\n'); let mappings=[]; map.eachMapping(m=>mappings.push(m));
mappings.sort((a,b)=>a.generatedLine-b.generatedLine||a.generatedColumn-b.generatedColumn);
const lineStart=[0]; for (const l of lines) lineStart.push(lineStart.at(-1)+l.length+1);
const pieces = {};
for (let i=0;i<mappings.length;i++){const m=mappings[i]; const n=mappings[i+1];
 const s=lineStart[m.generatedLine-1]+m.generatedColumn; const e=n?lineStart[n.generatedLine-1]+n.generatedColumn:code.length;
 const k=(m.source??'?').replace(/.*node_modules\//,'').replace(/.*packages\//,''); (pieces[k]??=[]).push(code.slice(s,e));}
console.log('total min', code.length, 'gzip', gzipSync(code,{level:9}).length);
const rows=Object.entries(pieces).map(([k,p])=>{const t=p.join('');return [k,t.length,gzipSync(t,{level:9}).length]}).sort((a,b)=>b[1]-a[1]);
for(const r of rows) console.log(r.join('\t'));
