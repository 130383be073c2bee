import { build, loadConfigFromFile } from 'vite';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
const require = createRequire('/work/main/node_modules/.pnpm/source-map-js@1.2.4/node_modules/source-map-js/package.json');
const { SourceMapConsumer } = require('source-map-js');
const root = fileURLToPath(new URL('..', import.meta.url));
const loaded = await loadConfigFromFile({ command: 'build', mode: 'production' }, root + 'vite.config.ts', root, 'silent');
const ENTRY='\0e';
const src = process.argv[2] ?? "export { PosternClient } from '/src/client/client.ts';";
const out = await build({ configFile:false, root, logLevel:'silent', resolve: loaded.config.resolve,
 plugins:[{name:'e', resolveId:(id)=>id===ENTRY?ENTRY:null, load:(id)=>id===ENTRY?src:null}],
 build:{write:false,target:'es2022',minify:'terser', terserOptions: loaded.config.build.terserOptions, sourcemap:true, rollupOptions:{input:ENTRY,preserveEntrySignatures:'strict'}}});
const chunk = out.output.find(c=>c.type==='chunk'); if(!chunk.map) console.log(Object.keys(chunk));
const code = chunk.code; const map = new SourceMapConsumer(chunk.map);
const lines = code.split('\n'); const per = {};
// attribute each char to the source of the preceding mapping
let mappings=[]; map.eachMapping(m=>mappings.push(m));
mappings.sort((a,b)=>a.generatedLine-b.generatedLine||a.generatedColumn-b.generatedColumn);
const lineStart=[0]; for (const l of lines) lineStart.push(lineStart.at(-1)+l.length+1);
const pieces = {};
for (let i=0;i<mappings.length;i++){const m=mappings[i]; const n=mappings[i+1];
 const s=lineStart[m.generatedLine-1]+m.generatedColumn; const e=n?lineStart[n.generatedLine-1]+n.generatedColumn:code.length;
 const k=(m.source??'?').replace(/.*node_modules\//,'').replace(/.*packages\//,''); (pieces[k]??=[]).push(code.slice(s,e));}
import {writeFileSync} from "node:fs"; writeFileSync("/work/scratch/sdk/core.min.js", code);
const total=gzipSync(code,{level:9}).length;
console.log('total min', code.length, 'gzip', total);
const rows=Object.entries(pieces).map(([k,p])=>{const t=p.join('');return [k,t.length,gzipSync(t,{level:9}).length]}).sort((a,b)=>b[1]-a[1]);
for(const r of rows) console.log(r.join('\t'));
