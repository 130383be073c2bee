import { build, loadConfigFromFile } from 'vite';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
const root = fileURLToPath(new URL('..', import.meta.url));
const loaded = await loadConfigFromFile({ command: 'build', mode: 'production' }, root + 'vite.config.ts', root, 'silent');
const ENTRY='\0e';
const out = await build({ configFile:false, root, logLevel:'silent', resolve: loaded.config.resolve,
 plugins:[{name:'e', resolveId:(id)=>id===ENTRY?ENTRY:null, load:(id)=>id===ENTRY?"export { PosternClient } from '/src/client/client.ts';":null}],
 build:{write:false,target:'es2022',minify:false, rollupOptions:{input:ENTRY,preserveEntrySignatures:'strict'}}});
const chunk = out.output[0];
const rows = Object.entries(chunk.modules).map(([id,m])=>[id.replace(/.*node_modules\//,'').replace(root,''), m.renderedLength, gzipSync(m.code??'',{level:9}).length]);
rows.sort((a,b)=>b[1]-a[1]);
for (const r of rows) console.log(r.join('\t'));
