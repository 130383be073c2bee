import { build } from 'vite';
const out = await build({ configFile: '/work/main/packages/widget-sdk/vite.config.ts', mode:'embed', logLevel:'silent', build:{ write:false, minify:false, sourcemap:false }});
const c = (Array.isArray(out)?out:[out]).flatMap(r=>r.output).find(c=>c.type==='chunk');
(await import('node:fs')).writeFileSync('/work/scratch/sdk/widget.raw.js', c.code);
